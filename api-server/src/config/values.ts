import { isIP } from 'node:net';
import { z } from 'zod';

// Option types as oslo.config converts them from the text of a config file. Messages never repeat the value:
// the loader adds it back only for options that are not secret.

const TRUE_WORDS = new Set(['true', '1', 'on', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'off', 'no']);

export const bool = z.string().transform((text, ctx) => {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  ctx.addIssue({ code: 'custom', message: 'must be a boolean (true/false, yes/no, on/off, 1/0)' });
  return z.NEVER;
});

type Bounds = { min?: number | bigint; max?: number | bigint };

/**
 * An IntOpt. An empty value is None to oslo.config, which for every integer option we read means "the default".
 * BigInt keeps the bound checks exact for options such as image_size_cap whose maximum is 2**63.
 */
export function int(bounds?: Bounds): z.ZodType<number | null, string | undefined>;
export function int(bounds: Bounds, fallback: number): z.ZodType<number, string | undefined>;
export function int(
  bounds: Bounds = {},
  fallback: number | null = null,
): z.ZodType<number | null, string | undefined> {
  return z
    .string()
    .transform((text, ctx): number | null => {
      const trimmed = text.trim();
      if (trimmed === '') return fallback;
      if (!/^[+-]?\d+$/.test(trimmed)) {
        ctx.addIssue({ code: 'custom', message: 'must be an integer' });
        return z.NEVER;
      }
      const value = BigInt(trimmed);
      if (bounds.min !== undefined && value < BigInt(bounds.min)) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${bounds.min}` });
        return z.NEVER;
      }
      if (bounds.max !== undefined && value > BigInt(bounds.max)) {
        ctx.addIssue({ code: 'custom', message: `must be at most ${bounds.max}` });
        return z.NEVER;
      }
      return Number(value);
    })
    .default(fallback);
}

export const str = z.string();

/** A StrOpt whose default is None: an empty value means unset too, as `if CONF.x:` treats it upstream. */
export const optionalStr = z.string().transform((text) => (text === '' ? null : text));

function stripQuotes(item: string): string {
  const quote = item[0];
  return item.length >= 2 && (quote === '"' || quote === "'") && item.endsWith(quote)
    ? item.slice(1, -1)
    : item;
}

/**
 * A ListOpt: comma-separated, optionally inside `[ ]` (upstream requires the brackets for some options; accepting
 * them everywhere loads every valid upstream file). Items are trimmed; `quotes` strips quotes around each item.
 */
export function list<T extends z.ZodType>(item: T, opts: { quotes?: boolean } = {}) {
  return z.string().transform((text, ctx) => {
    let body = text.trim().replace(/,+$/, '');
    if (body.startsWith('[') && body.endsWith(']')) body = body.slice(1, -1).trim();
    const items: Array<z.output<T>> = [];
    if (body === '') return items;
    body.split(',').forEach((part, index) => {
      const result = item.safeParse(opts.quotes ? stripQuotes(part.trim()) : part.trim());
      if (result.success) items.push(result.data);
      else
        for (const issue of result.error.issues)
          ctx.addIssue({ code: 'custom', message: issue.message, path: [index] });
    });
    return items;
  });
}

export const host = z
  .string()
  .refine((h) => isIP(h) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/.test(h), {
    message: 'must be an IP address or a host name',
  });

/** A DictOpt (`key:value,key:value`), kept in file order. */
export const dict = z.string().transform((text, ctx) => {
  const body = text.trim();
  const pairs: Array<[string, string]> = [];
  if (body === '') return pairs;
  for (const part of body.split(',')) {
    const at = part.indexOf(':');
    const key = at < 0 ? '' : part.slice(0, at).trim();
    if (at < 0 || key === '') {
      ctx.addIssue({ code: 'custom', message: 'must be NAME:VALUE pairs separated by ","' });
      return z.NEVER;
    }
    if (pairs.some(([k]) => k === key)) {
      ctx.addIssue({ code: 'custom', message: `names "${key}" twice` });
      return z.NEVER;
    }
    pairs.push([key, part.slice(at + 1).trim()]);
  }
  return pairs;
});

const SIZE_FACTORS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** user_storage_quota: digits with an optional case-sensitive binary unit (glance/api/common.py). */
export const byteSize = z.string().transform((text, ctx) => {
  const match = /^(\d+)((?:K|M|G|T)?B)?$/.exec(text);
  if (!match?.[1]) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a non-negative integer with an optional unit B, KB, MB, GB or TB',
    });
    return z.NEVER;
  }
  return Number(match[1]) * (SIZE_FACTORS[match[2] ?? 'B'] ?? 1);
});
