/**
 * A record for keys that come from clients: without a prototype, a key such as "__proto__" or "constructor"
 * is stored and looked up like any other.
 */
export function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
