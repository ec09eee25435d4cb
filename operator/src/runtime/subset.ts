/**
 * Whether every field of `desired` has the same value in `actual`. Objects may have more fields in `actual`
 * (defaults the API server filled in, fields others manage); arrays must match element by element, because a
 * list the operator sets is the whole list.
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') return desired === actual;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((d, i) => isSubset(d, actual[i] as unknown))
    );
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isSubset(v, a[k]));
}
