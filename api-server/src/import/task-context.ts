import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ImageRepository } from '../db/image-repo.js';
import type { TaskOutcome, TaskRecord, TaskRepository } from '../db/task-repo.js';
import type { DomainConfig } from '../domain/types.js';
import type { Quotas } from '../quota/quotas.js';
import { GlanceError } from '../domain/errors.js';
import { StoreError } from '../store/errors.js';
import type { IngestLimit } from '../store/ingest.js';
import { IMAGE_TOO_LARGE } from '../store/limit.js';
import type { StoreRegistry } from '../store/registry.js';
import { FetchFailed, type ExternalData } from '../net/external-fetch.js';
import type { ImportEvents } from './import-events.js';
import { ImageGone, ImportAborted, type ImportRepository } from './import-repo.js';
import { CatalogUnavailable, type ServiceCatalog } from './service-catalog.js';
import type { StagingArea } from './staging.js';

/** A task step failed for a reason the task's owner should read in its message. */
export class ImportFailed extends Error {
  override readonly name = 'ImportFailed';
}

/** Everything a running task works with. */
export interface TaskContext {
  images: ImageRepository;
  imports: ImportRepository;
  tasks: TaskRepository;
  staging: StagingArea;
  /** Where data goes: the default store, or (multistore) the backends an import names. */
  stores: StoreRegistry;
  domain: DomainConfig;
  /** Keystone unified limits of the task owner's project. */
  quotas: Quotas;
  /** Opens an http(s) URI that [import_filtering_opts] allows, sending `headers`. */
  openExternal(uri: string, headers?: Record<string, string>): Promise<ExternalData>;
  /** The service catalog of a user's token (glance-download finds the remote image service there). */
  serviceCatalog(token: string): Promise<ServiceCatalog>;
  /** [glance_download_properties] extra_properties: the property prefixes glance-download copies. */
  glanceDownloadProperties: readonly string[];
  imageSizeCap: number;
  /** [DEFAULT] user_storage_quota in bytes; 0 means none. */
  userStorageQuota: number;
  hashingAlgorithm: string;
  /** How long a finished task is kept ([task] task_time_to_live). */
  taskTimeToLiveHours: number;
  /** The task and image notifications a task sends. */
  events: ImportEvents;
  log: Logger;
}

/** begin_processing with its task.processing; the processing task, or null when it had already moved on. */
export async function beginTask(ctx: TaskContext, task: TaskRecord): Promise<TaskRecord | null> {
  if (!(await ctx.tasks.beginProcessing(task.id))) return null;
  const processing: TaskRecord = { ...task, status: 'processing' };
  ctx.events.taskProcessing(processing);
  return processing;
}

/** succeed/fail with its task.success or task.failure; false when the task had already ended. */
export async function endTask(ctx: TaskContext, task: TaskRecord, outcome: TaskOutcome): Promise<boolean> {
  const expires = await ctx.tasks.finish(task.id, outcome, ctx.taskTimeToLiveHours);
  if (expires === null) return false;
  ctx.events.taskEnded({
    ...task,
    status: outcome.status,
    expires_at: expires,
    ...(outcome.status === 'success' ? { result: outcome.result } : { message: outcome.message }),
  });
  return true;
}

/**
 * The task message for a failure: what went wrong when it is something the user can act on, else upstream's
 * generic text.
 */
export function failureMessage(err: unknown): string {
  if (err instanceof ImportAborted) return 'Task was aborted externally';
  if (
    err instanceof ImportFailed ||
    err instanceof FetchFailed ||
    err instanceof CatalogUnavailable ||
    err instanceof ImageGone ||
    err instanceof StoreError
  ) {
    return err.message;
  }
  if (err instanceof GlanceError) return err.message;
  return 'Task failed due to Internal Error';
}

/**
 * The most an import may write for `owner`: image_size_cap, or less when user_storage_quota leaves less room
 * (the image's own current data not counted), as upstream's quota proxy limits set_data.
 */
export async function importLimit(
  ctx: TaskContext,
  owner: string | null,
  imageId: string,
): Promise<IngestLimit> {
  if (ctx.userStorageQuota > 0) {
    const remaining = ctx.userStorageQuota - (await ctx.images.storageUsage(owner, imageId));
    if (remaining < ctx.imageSizeCap) {
      return {
        bytes: Math.max(remaining, 0),
        explanation: `Image exceeds the storage quota: The size of the data will exceed the limit. ${remaining} bytes remaining.`,
      };
    }
  }
  return { bytes: ctx.imageSizeCap, explanation: IMAGE_TOO_LARGE };
}

// Upstream's CallbackIterator reports at most once a minute, and once more at the end.
const PROGRESS_INTERVAL_MS = 60_000;

/**
 * `source` as it streams, reporting "Copied N MiB" on the task as it goes (which also keeps the import lock
 * fresh). The stream fails with ImportAborted once the task has been ended by someone else.
 */
export function withProgress(source: NodeJS.ReadableStream, ctx: TaskContext, task: TaskRecord): Readable {
  async function* counted(): AsyncGenerator<Buffer> {
    let total = 0;
    let last = Date.now();
    const report = async (): Promise<void> => {
      const mib = Math.floor(total / (1024 * 1024));
      if (!(await ctx.tasks.reportProgress(task.id, `Copied ${mib} MiB`))) {
        throw new ImportAborted(`Task ${task.id} is no longer processing`);
      }
    };
    for await (const chunk of source as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (Date.now() - last >= PROGRESS_INTERVAL_MS) {
        last = Date.now();
        await report();
      }
      yield chunk;
    }
    await report();
  }
  return Readable.from(counted(), { objectMode: false });
}
