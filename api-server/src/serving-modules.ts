// What only a serving process needs. main.ts imports this module dynamically, so that a cluster primary, which only
// checks the configuration and the schema and then supervises its workers, does not load (and keep resident) the
// express application, its routes and repositories.
export { createAuthMiddleware } from './http/authenticate.js';
export { ImageCache } from './cache/image-cache.js';
export { Prefetcher } from './cache/prefetcher.js';
export { ImageRepository } from './db/image-repo.js';
export { MemberRepository } from './db/member-repo.js';
export { MetadefRepository } from './db/metadef-repo.js';
export { createApp } from './composition/app.js';
export { onClientError } from './http/client-error.js';
export { handlersInFlight } from './http/inflight.js';
export { createQuotas } from './quota/quotas.js';
export { StoreRegistry } from './store/registry.js';
