import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Policy } from '../auth/policy.js';
import type { ImageCache } from '../cache/image-cache.js';
import type { GlanceConfig } from '../config/index.js';
import type { ImageRepository } from '../db/image-repo.js';
import type { MemberRepository } from '../db/member-repo.js';
import type { MetadefRepository } from '../db/metadef-repo.js';
import { metadefSchemas } from '../domain/metadef-bodies.js';
import type { DomainConfig } from '../domain/types.js';
import { accessLog } from '../http/access-log.js';
import { errorHandler } from '../http/error-handler.js';
import { HttpError } from '../http/errors.js';
import { healthcheck } from '../http/healthcheck.js';
import { assignRequestId, openstackRequestId } from '../http/request-id.js';
import { versionNegotiation } from '../http/versions.js';
import { ImportService } from '../import/import-service.js';
import { StageHosts } from '../import/stage-host.js';
import { StagingArea, stagingDirectory } from '../import/staging.js';
import type { Notifier } from '../notify/index.js';
import { NO_QUOTAS, type Quotas } from '../quota/quotas.js';
import { mountCacheApi } from '../routes/cache.js';
import { mountImageActions } from '../routes/image-actions.js';
import { mountImageData } from '../routes/image-data.js';
import { mountImageMembers } from '../routes/image-members.js';
import { mountImageTags } from '../routes/image-tags.js';
import { mountImport } from '../routes/import.js';
import { mountImages } from '../routes/images.js';
import { mountInfo } from '../routes/info.js';
import { mountMetadefNamespaces } from '../routes/metadef-namespaces.js';
import { mountMetadefObjects } from '../routes/metadef-objects.js';
import { mountMetadefProperties } from '../routes/metadef-properties.js';
import { mountMetadefResourceTypes } from '../routes/metadef-resource-types.js';
import { mountMetadefTags } from '../routes/metadef-tags.js';
import { mountSchemas } from '../routes/schemas.js';
import { mountTasks } from '../routes/tasks.js';
import { CacheManagement } from '../services/cache-management.js';
import { ImageAccess } from '../services/image-access.js';
import { ImageDataService } from '../services/image-data.js';
import { ImageDeletion } from '../services/image-deletion.js';
import { ImageEvents } from '../services/image-events.js';
import { ImageImportService } from '../services/image-import.js';
import { ImageMembers } from '../services/image-members.js';
import { ImageTags } from '../services/image-tags.js';
import { Images } from '../services/images.js';
import { MetadefAccess } from '../services/metadef-access.js';
import { MetadefEvents } from '../services/metadef-events.js';
import { TaskEvents } from '../services/task-events.js';
import { Tasks } from '../services/tasks.js';
import { Usage } from '../services/usage.js';
import type { StoreRegistry } from '../store/registry.js';

export interface AppDeps {
  config: GlanceConfig;
  domain: DomainConfig;
  images: ImageRepository;
  members: MemberRepository;
  metadefs: MetadefRepository;
  stores: StoreRegistry;
  policy: Policy;
  /** Sets the request's RequestContext, or answers 401 (keystonemiddleware + upstream's context middleware). */
  authenticate: RequestHandler;
  logger: Logger;
  /** The largest JSON request body accepted (413 beyond). */
  jsonBodyLimit: number;
  /** oslo.middleware healthcheck's disable_by_file_path; null disables that backend. */
  healthcheckDisableFile: string | null;
  /** Keystone unified limits ([DEFAULT] use_keystone_limits); none when left out. */
  quotas?: Quotas;
  /** The image cache ([DEFAULT] image_cache_dir); none when left out. */
  cache?: ImageCache | null;
  /** Where notifications go ([oslo_messaging_notifications]); none when left out. */
  notifier?: Notifier;
}

// Methods upstream's router knows; others on an unknown path are 501 rather than 404.
const IMPLEMENTED = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']);

/**
 * The Image API v2 application in upstream's paste order: healthcheck, version negotiation (both without a
 * token), request id, authentication, then the v2 routes; every error is rendered as webob renders it.
 */
export function createApp(deps: AppDeps): Express {
  const { config, domain, images, members, stores, policy } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Upstream's routes are exact: /v2/images/ (an empty id) must not reach the image list.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.set('query parser', 'simple');

  app.use(assignRequestId(deps.logger));
  app.use(accessLog());
  app.all('/healthcheck', healthcheck(deps.healthcheckDisableFile));
  app.use(
    versionNegotiation({
      publicEndpoint: config.DEFAULT.public_endpoint,
      cacheEnabled: config.DEFAULT.image_cache_dir !== null,
      multistore: stores.multistore,
    }),
  );
  app.use(openstackRequestId(config.DEFAULT.max_request_id_length));
  app.use(deps.authenticate);

  const router = express.Router({ caseSensitive: true, strict: true });
  const secureRbac = config.DEFAULT.enforce_secure_rbac;
  const jsonLimit = deps.jsonBodyLimit;
  const quotas = deps.quotas ?? NO_QUOTAS;
  const cache = deps.cache ?? null;
  const access = new ImageAccess({ images, members, policy });
  const events = new ImageEvents(deps.notifier);
  const stageHosts = new StageHosts(config);
  // This process's task runner; it cleans the staging area of residue, as upstream does at start-up.
  const imports = new ImportService({ ...deps, quotas, importEvents: new TaskEvents(deps.notifier) });
  imports.sweepStaging();
  const data = new ImageDataService({
    access,
    images,
    stores,
    imports: imports.imports,
    staging: imports.staging,
    quotas,
    imageSizeCap: config.DEFAULT.image_size_cap,
    userStorageQuota: config.DEFAULT.user_storage_quota,
    hashingAlgorithm: config.DEFAULT.hashing_algorithm,
    cache,
    selfUrl: stageHosts.selfUrl,
    events,
  });
  mountSchemas(router, domain);
  mountInfo(router, config, policy, new Usage(deps.quotas));
  const imageService = new Images({
    access,
    images,
    stores,
    filtering: config.import_filtering_opts,
    policy,
    domain,
    quotas: deps.quotas,
    cache,
    events,
  });
  mountImages(router, {
    images: imageService,
    deletion: new ImageDeletion({
      access,
      images,
      stores,
      cache,
      staging: new StagingArea(stagingDirectory(config)),
      stageHosts,
      events,
    }),
    domain,
    jsonLimit,
    importMethods: config.DEFAULT.enabled_import_methods,
  });
  mountImageActions(router, imageService);
  mountImageData(router, data);
  mountImageTags(router, new ImageTags({ access, images, domain, events }));
  mountImport(router, {
    config,
    jsonLimit,
    data,
    imports: new ImageImportService({ access, imports, config, quotas, stageHosts }),
  });
  mountTasks(router, { tasks: new Tasks({ access, policy, imports, domain }), domain, jsonLimit });
  mountImageMembers(
    router,
    new ImageMembers({
      access,
      members,
      memberQuota: config.DEFAULT.image_member_quota,
      secureRbac,
      events,
    }),
    jsonLimit,
  );
  // The Metadata Definitions API under /v2/metadefs, as upstream's v2 router maps it.
  const metadefEvents = new MetadefEvents(deps.notifier);
  const metadefDeps = {
    access: new MetadefAccess(deps.metadefs, policy, metadefEvents),
    events: metadefEvents,
    schemas: metadefSchemas(domain),
    limits: { limitParamDefault: domain.limitParamDefault, apiLimitMax: domain.apiLimitMax },
    jsonLimit,
  };
  mountMetadefResourceTypes(router, metadefDeps);
  mountMetadefNamespaces(router, metadefDeps);
  mountMetadefProperties(router, metadefDeps);
  mountMetadefObjects(router, metadefDeps);
  mountMetadefTags(router, metadefDeps);
  mountCacheApi(router, new CacheManagement({ access, policy, cache }));
  app.use(router);

  app.use((req, _res, next) => next(new HttpError(IMPLEMENTED.has(req.method) ? 404 : 501)));
  app.use(errorHandler(deps.logger));
  return app;
}
