import { createHash } from 'node:crypto';

interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A bounded least-recently-used map with per-entry expiry. Keys are SHA-256 digests of the token, so tokens
 * themselves are not kept in memory as keys after the request that carried them.
 */
export class TokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(token: string): V | undefined {
    const key = digest(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    // Re-inserting moves it to the end: Map iteration order is the recency order.
    this.entries.set(key, entry);
    return entry.value;
  }

  set(token: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0 || this.maxEntries <= 0) return;
    const key = digest(token);
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
