import { DuplicateError } from '../db/metadef-repo.js';
import { Conflict, Invalid } from '../domain/errors.js';
import { fourByteMessage } from '../domain/metadef-bodies.js';

/** Refuses what upstream's no_4byte_params refuses, worded as the controller words its Invalid errors. */
export function checkFourByte(what: string, args: readonly (string | Record<string, unknown>)[]): void {
  const message = fourByteMessage(args);
  if (message !== null) throw new Invalid(`${what}: ${message}`);
}

/** Runs a write; a unique-key clash becomes the 409 `message(name)`. */
export async function unlessDuplicate<T>(
  write: () => Promise<T>,
  message: (name: string) => string,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof DuplicateError) throw new Conflict(message(err.taken));
    throw err;
  }
}

/** Python truthiness of a WSME attribute: Unset, None and empty containers are false. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

// Python ==: dicts compare without regard to key order.
function pyEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => pyEqual(v, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && !Array.isArray(a)) {
    const ka = Object.keys(a);
    const rb = b as Record<string, unknown>;
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.hasOwn(rb, k) && pyEqual((a as Record<string, unknown>)[k], rb[k]))
    );
  }
  return false;
}

/**
 * Whether saving `next` over `current` changes a column: SQLAlchemy issues no UPDATE (so updated_at stays)
 * when nothing changed. JSON columns compare as the values they decode to.
 */
export function changed(current: Record<string, unknown>, next: Record<string, unknown>): boolean {
  return Object.entries(next).some(([key, value]) => !pyEqual(current[key], value));
}
