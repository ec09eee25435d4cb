/**
 * Per-key exponential backoff, as client-go's ItemExponentialFailureRateLimiter: the n-th consecutive failure of
 * a key waits base·2^(n-1), capped at max, so one broken object retries slowly without slowing the others.
 */
export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();

  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {
    if (baseMs <= 0 || maxMs < baseMs) throw new RangeError('backoff needs 0 < base <= max');
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity long after the cap applies, and Math.min handles Infinity.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}
