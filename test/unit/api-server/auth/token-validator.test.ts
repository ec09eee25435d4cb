import type { TokenIdentity } from '../../../../api-server/src/auth/keystone-client.js';
import { TokenCache } from '../../../../api-server/src/auth/token-cache.js';
import { TokenValidator } from '../../../../api-server/src/auth/token-validator.js';

const START = 1_000_000;

function identity(expiresAt: number): TokenIdentity {
  return {
    userId: 'u',
    userDomainId: 'default',
    projectId: 'p',
    projectDomainId: 'default',
    isAdminProject: true,
    domainId: null,
    roles: ['member'],
    systemScope: false,
    expiresAt,
  };
}

/** Counts validations; `answers` says what Keystone thinks of each token. */
function keystone(answers: Record<string, TokenIdentity | null>) {
  const asked: string[] = [];
  return {
    asked,
    validate: async (token: string) => {
      asked.push(token);
      return answers[token] ?? null;
    },
  };
}

describe('TokenCache', () => {
  it('forgets entries when they expire', () => {
    let now = START;
    const cache = new TokenCache<string>(10, () => now);
    cache.set('t', 'v', 1000);
    expect(cache.get('t')).toBe('v');
    now += 1000;
    expect(cache.get('t')).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its size', () => {
    const cache = new TokenCache<number>(2, () => START);
    cache.set('a', 1, 1000);
    cache.set('b', 2, 1000);
    cache.get('a');
    cache.set('c', 3, 1000);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
  });
});

describe('TokenValidator', () => {
  it('asks Keystone once for a token seen again within token_cache_time', async () => {
    let now = START;
    const ks = keystone({ good: identity(START + 3600_000) });
    const validator = new TokenValidator(ks, { cacheTimeSeconds: 300, maxEntries: 100, now: () => now });
    expect(await validator.identify('good')).not.toBeNull();
    now += 299_000;
    expect(await validator.identify('good')).not.toBeNull();
    expect(ks.asked).toEqual(['good']);
    now += 1000;
    await validator.identify('good');
    expect(ks.asked).toEqual(['good', 'good']);
  });

  it('never trusts a cached token past its own expiry', async () => {
    let now = START;
    const ks = keystone({ short: identity(START + 10_000) });
    const validator = new TokenValidator(ks, { cacheTimeSeconds: 300, maxEntries: 100, now: () => now });
    await validator.identify('short');
    now += 10_000;
    await validator.identify('short');
    expect(ks.asked).toEqual(['short', 'short']);
  });

  it('remembers a rejected token only briefly', async () => {
    let now = START;
    const ks = keystone({});
    const validator = new TokenValidator(ks, { cacheTimeSeconds: 300, maxEntries: 100, now: () => now });
    expect(await validator.identify('bad')).toBeNull();
    expect(await validator.identify('bad')).toBeNull();
    expect(ks.asked).toEqual(['bad']);
    now += 10_000;
    await validator.identify('bad');
    expect(ks.asked).toEqual(['bad', 'bad']);
  });

  it('does not cache at all with token_cache_time -1', async () => {
    const ks = keystone({ good: identity(START + 3600_000) });
    const validator = new TokenValidator(ks, { cacheTimeSeconds: -1, maxEntries: 100, now: () => START });
    await validator.identify('good');
    await validator.identify('good');
    expect(ks.asked).toEqual(['good', 'good']);
  });

  it('validates a token once for concurrent requests', async () => {
    const ks = keystone({ good: identity(START + 3600_000) });
    const validator = new TokenValidator(ks, { cacheTimeSeconds: 300, maxEntries: 100, now: () => START });
    await Promise.all([validator.identify('good'), validator.identify('good'), validator.identify('good')]);
    expect(ks.asked).toEqual(['good']);
  });
});
