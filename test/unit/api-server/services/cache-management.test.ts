import type { Policy } from '../../../../api-server/src/auth/policy.js';
import type { ImageCache } from '../../../../api-server/src/cache/image-cache.js';
import type { ImageRepository } from '../../../../api-server/src/db/image-repo.js';
import type { MemberRepository } from '../../../../api-server/src/db/member-repo.js';
import type { RequestContext } from '../../../../api-server/src/domain/request-context.js';
import type { ImageRecord } from '../../../../api-server/src/domain/types.js';
import { CacheManagement } from '../../../../api-server/src/services/cache-management.js';
import { ImageAccess } from '../../../../api-server/src/services/image-access.js';
import { answered, errorText, image } from '../domain/helpers.js';

const CTX: RequestContext = {
  requestId: 'req-1',
  userId: 'u1',
  projectId: 'p1',
  domainId: null,
  roles: ['member'],
  systemScope: false,
  isAdmin: false,
  authToken: null,
};
const log = { info: () => undefined } as never;

/** A site whose one image is `stored`, whose policy answers `allowed`, with the cache holding `cachedIds`. */
function service(opts: { allowed: boolean; cache: boolean; stored?: ImageRecord; cachedIds?: string[] }) {
  const forgotten: string[] = [];
  const enqueued: string[] = [];
  const policy = {
    check: () => opts.allowed,
    enforce: () => undefined,
  } as unknown as Policy;
  const images = { get: async (id: string) => (opts.stored?.id === id ? opts.stored : null) };
  const members = { find: async () => [] };
  const access = new ImageAccess({
    images: images as unknown as ImageRepository,
    members: members as unknown as MemberRepository,
    policy,
  });
  const cached = opts.cachedIds ?? [];
  const cache = {
    dir: {
      cached: async () => [],
      queued: async () => [],
      isCached: async (id: string) => cached.includes(id),
      isQueued: async () => false,
      enqueue: async (id: string) => void enqueued.push(id),
      removeAll: async () => 0,
      dequeueAll: async () => 0,
    },
    forget: async (id: string) => void forgotten.push(id),
  } as unknown as ImageCache;
  return {
    cm: new CacheManagement({ access, policy, cache: opts.cache ? cache : null }),
    forgotten,
    enqueued,
  };
}

/** The status and text the API answers `promise`'s refusal with. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const http = answered(err);
    return `${http.status} ${errorText(http)}`.trim();
  }
  throw new Error('expected a refusal');
}

const ACTIVE = image({ status: 'active', visibility: 'public' });
const GONE = 'a4b9c1d2-0000-4000-8000-000000000001';

describe('CacheManagement', () => {
  it('refuses on policy before it reports a site without a cache', async () => {
    expect(await refusal(service({ allowed: false, cache: false }).cm.state(CTX))).toMatch(/^403/);
    expect(await refusal(service({ allowed: true, cache: false }).cm.state(CTX))).toBe(
      '404 Caching via API is not supported at this site.',
    );
  });

  it('checks the clear target only once the policy has passed', async () => {
    expect(await refusal(service({ allowed: false, cache: true }).cm.clear(CTX, 'bogus', log))).toMatch(
      /^403/,
    );
    expect(await refusal(service({ allowed: true, cache: true }).cm.clear(CTX, 'bogus', log))).toBe(
      "400 If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.",
    );
  });

  it('answers an unknown image with 404 before the policy, and queues only active images', async () => {
    expect(await refusal(service({ allowed: false, cache: true }).cm.queue(CTX, GONE))).toBe(
      `404 Image ${GONE} not found.`,
    );
    const queued = image({ status: 'queued', visibility: 'public' });
    expect(
      await refusal(service({ allowed: true, cache: true, stored: queued }).cm.queue(CTX, queued.id)),
    ).toBe('400 Only images with status active can be targeted for queueing');
    const site = service({ allowed: true, cache: true, stored: ACTIVE });
    await site.cm.queue(CTX, ACTIVE.id);
    expect(site.enqueued).toEqual([ACTIVE.id]);
  });

  it('drops a deleted image that is still cached, and 404s one the cache does not hold', async () => {
    const site = service({ allowed: true, cache: true, cachedIds: [GONE] });
    await site.cm.remove(CTX, GONE);
    expect(site.forgotten).toEqual([GONE]);
    const other = 'a4b9c1d2-0000-4000-8000-000000000002';
    expect(await refusal(site.cm.remove(CTX, other))).toBe(`404 Image ${other} not found.`);
  });
});
