import type { Logger } from 'pino';
import type { GlanceConfig } from '../config/index.js';
import type { ImageRepository } from '../db/image-repo.js';
import { createPool } from '../db/pool.js';
import { TaskRepository, type TaskRecord } from '../db/task-repo.js';
import type { DomainConfig } from '../domain/types.js';
import type { StoreRegistry } from '../store/registry.js';
import { runApiImageImport } from './api-image-import.js';
import { FAILED_STORES, IMPORTING_STORES, lockIsStale } from './bookkeeping.js';
import { resolveDestination, resolveWithDns } from '../net/destination.js';
import { openExternal } from '../net/external-fetch.js';
import { NO_IMPORT_EVENTS, type ImportEvents } from './import-events.js';
import { ImportRepository } from './import-repo.js';
import { runLegacyImport } from './legacy-import.js';
import { CatalogUnavailable, fetchServiceCatalog } from './service-catalog.js';
import { StagingArea, stagingDirectory } from './staging.js';
import { endTask, type TaskContext } from './task-context.js';
import { NO_QUOTAS, type Quotas } from '../quota/quotas.js';
import { TaskRunner } from './task-runner.js';
import type { ImportFiltering } from '../net/uri-filter.js';

export interface ImportServiceDeps {
  config: GlanceConfig;
  domain: DomainConfig;
  images: ImageRepository;
  stores: StoreRegistry;
  logger: Logger;
  /** Keystone unified limits, checked again when a task starts (upstream's assert_quota); none by default. */
  quotas?: Quotas;
  /** The task and image notifications of tasks; none by default. */
  importEvents?: ImportEvents;
}

// upstream's [wsgi] task_pool_threads default: tasks running at once in one process.
const TASK_CONCURRENCY = 16;
// upstream's [task] task_time_to_live default (hours a finished task stays listed); this server has no [task].
const TASK_TIME_TO_LIVE_HOURS = 48;
// urllib waits forever on a silent server; here a download that moves no byte for this long fails instead,
// well before its import lock (renewed by progress) could be taken over.
const DOWNLOAD_IDLE_TIMEOUT_MS = 5 * 60_000;
// keystoneauth's default would wait forever; Keystone answers a catalog read in milliseconds.
const CATALOG_TIMEOUT_MS = 30_000;

/**
 * Image import and tasks for one server process: the task and image-lock repositories (on a pool of their
 * own), the staging area, the web-download filter and the in-process task runner.
 */
export class ImportService {
  readonly tasks: TaskRepository;
  readonly imports: ImportRepository;
  readonly staging: StagingArea;
  readonly filtering: ImportFiltering;
  /** The notifications of tasks, also sent by the requests that create them (task.create). */
  readonly events: ImportEvents;
  readonly #runner: TaskRunner;
  readonly #context: TaskContext;

  constructor(deps: ImportServiceDeps) {
    const { config } = deps;
    const log = deps.logger.child({ component: 'import' });
    const pool = createPool(config.database.connection);
    this.tasks = new TaskRepository(pool);
    this.imports = new ImportRepository(pool, deps.images);
    this.staging = new StagingArea(stagingDirectory(config));
    this.filtering = config.import_filtering_opts;
    this.events = deps.importEvents ?? NO_IMPORT_EVENTS;
    this.#runner = new TaskRunner(TASK_CONCURRENCY, log);
    this.#context = {
      images: deps.images,
      imports: this.imports,
      tasks: this.tasks,
      staging: this.staging,
      stores: deps.stores,
      domain: deps.domain,
      quotas: deps.quotas ?? NO_QUOTAS,
      openExternal: (uri, headers) =>
        openExternal(uri, {
          headers,
          filtering: this.filtering,
          resolve: resolveWithDns,
          idleTimeoutMs: DOWNLOAD_IDLE_TIMEOUT_MS,
        }),
      imageSizeCap: config.DEFAULT.image_size_cap,
      userStorageQuota: config.DEFAULT.user_storage_quota,
      hashingAlgorithm: config.DEFAULT.hashing_algorithm,
      serviceCatalog: (token) => {
        const { auth_url: authUrl, www_authenticate_uri: publicUrl } = config.keystone_authtoken;
        const identityUrl = authUrl ?? publicUrl;
        if (identityUrl === null) {
          return Promise.reject(
            new CatalogUnavailable('No identity service is configured ([keystone_authtoken])'),
          );
        }
        return fetchServiceCatalog(identityUrl, token, {
          fetch: globalThis.fetch,
          timeoutMs: CATALOG_TIMEOUT_MS,
        });
      },
      glanceDownloadProperties: config.glance_download_properties.extra_properties,
      taskTimeToLiveHours: TASK_TIME_TO_LIVE_HOURS,
      events: this.events,
      log,
    };
  }

  /** Throws UriRefused unless the server may fetch `uri` (lists, resolution, internal addresses). */
  async checkExternalUri(uri: string): Promise<void> {
    await resolveDestination(uri, this.filtering, resolveWithDns);
  }

  /**
   * _enforce_import_lock for another task's lock on the image: null while it stands; once stale, its task is
   * failed and the lock removed, and the old holder (null if its task no longer exists) is returned.
   */
  async breakStaleLock(imageId: string, holderId: string): Promise<{ holder: TaskRecord | null } | null> {
    const holder = await this.tasks.find(holderId);
    if (!lockIsStale(holder, new Date())) return null;
    if (holder)
      await endTask(this.#context, holder, { status: 'failure', message: 'Expired lock preempted' });
    if (!(await this.imports.releaseLock(imageId, holderId))) return null;
    this.#context.log.warn(
      { imageId, holderId, status: holder?.status ?? 'missing' },
      'removed a stale import lock',
    );
    return { holder };
  }

  /**
   * _cleanup_stale_task_progress: the stores of a task whose lock was broken leave the progress lists; the image
   * is saved (image.update) only when one was there.
   */
  async cleanupStaleProgress(imageId: string, taskId: string, stale: TaskRecord): Promise<void> {
    const backend = (stale.input as { backend?: unknown } | null)?.backend;
    const stores = Array.isArray(backend) ? backend.filter((s): s is string => typeof s === 'string') : [];
    if (stores.length === 0) return;
    let changed = false;
    const saved = await this.imports.change(imageId, taskId, (image) => {
      const setProperties: Record<string, string> = {};
      for (const key of [IMPORTING_STORES, FAILED_STORES]) {
        const values = (image.properties[key] ?? '').split(',');
        if (stores.some((s) => values.includes(s))) {
          setProperties[key] = values.filter((v) => !stores.includes(v)).join(',');
          changed = true;
        }
      }
      return { setProperties };
    });
    if (changed) this.events.imageUpdated(saved);
  }

  /**
   * Runs a freshly created task in this process, after the response that created it. `authToken` is the
   * requester's, for a glance-download's requests on their behalf.
   */
  start(task: TaskRecord, authToken: string | null = null): void {
    this.#runner.spawn(task.id, async () => {
      try {
        await (task.type === 'import'
          ? runLegacyImport(task, this.#context)
          : runApiImageImport(task, this.#context, authToken));
      } finally {
        // TaskProxy.run notifies once the executor returns, with the task as the request created it.
        this.events.taskRan(task);
      }
    });
  }

  /** upstream's start-up cleaning of the staging area; failures are only logged. */
  sweepStaging(): void {
    const { images, log } = this.#context;
    this.staging
      .sweep(async (imageId) => (await images.get(imageId)) !== null, log)
      .catch((err: unknown) => log.error({ err }, 'could not scan the staging area for residue'));
  }
}
