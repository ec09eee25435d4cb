import type { KeystoneClient, TokenIdentity } from './keystone-client.js';
import { TokenCache } from './token-cache.js';

// A rejected token is remembered only briefly: enough to spare Keystone a client retrying a bad token in a
// loop, short enough that a token Keystone has only just started to accept works again soon.
const INVALID_TTL_MS = 10_000;

/**
 * keystonemiddleware's token cache in front of Keystone: a valid token is trusted for token_cache_time seconds
 * but never past its own expiry; token_cache_time <= 0 turns caching off.
 */
export class TokenValidator {
  private readonly cache: TokenCache<TokenIdentity | 'invalid'>;
  private readonly inFlight = new Map<string, Promise<TokenIdentity | null>>();

  constructor(
    private readonly keystone: Pick<KeystoneClient, 'validate'>,
    private readonly options: { cacheTimeSeconds: number; maxEntries: number; now: () => number },
  ) {
    this.cache = new TokenCache(options.maxEntries, options.now);
  }

  /** The token's identity, or null when Keystone rejects it. Throws KeystoneUnavailableError. */
  async identify(token: string): Promise<TokenIdentity | null> {
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached === 'invalid' ? null : cached;
    // Concurrent requests with the same token wait for one validation rather than each asking Keystone.
    let pending = this.inFlight.get(token);
    if (!pending) {
      pending = this.fetch(token).finally(() => this.inFlight.delete(token));
      this.inFlight.set(token, pending);
    }
    return pending;
  }

  private async fetch(token: string): Promise<TokenIdentity | null> {
    const identity = await this.keystone.validate(token);
    const cacheMs = this.options.cacheTimeSeconds * 1000;
    if (identity) {
      this.cache.set(token, identity, Math.min(cacheMs, identity.expiresAt - this.options.now()));
    } else {
      this.cache.set(token, 'invalid', Math.min(cacheMs, INVALID_TTL_MS));
    }
    return identity;
  }
}
