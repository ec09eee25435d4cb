import { z } from 'zod';
import type { TaskRecord } from '../db/task-repo.js';
import type { ImageRecord } from '../domain/types.js';
import { ingestImageData, type IngestResult } from '../store/ingest.js';
import { FAILED_STORES, IMPORTING_STORES, mergeStoreList, STAGE_HOST } from './bookkeeping.js';
import { copyImageStep } from './copy-image.js';
import { stagingDownload } from './download-step.js';
import { glanceDownloadSteps } from './glance-download.js';
import type { ImportFlowScope, Step } from './import-step.js';
import {
  beginTask,
  endTask,
  failureMessage,
  ImportFailed,
  importLimit,
  withProgress,
  type TaskContext,
} from './task-context.js';

// The input import_image stores on its task (upstream's task_input).
const inputSchema = z.object({
  image_id: z.string(),
  import_req: z.looseObject({
    method: z.looseObject({ name: z.string(), uri: z.unknown().optional() }),
    all_stores_must_succeed: z.boolean().optional(),
  }),
  backend: z.array(z.string().nullable()),
});

type ApiImportInput = z.output<typeof inputSchema>;

/**
 * upstream's api_image_import flow for glance-direct, web-download and copy-image: take the image (importing,
 * store bookkeeping), download into staging (web-download) or copy the data from a store holding it into
 * staging (copy-image, which leaves the active image active), copy staged data into each store, drop the
 * staged copy, check the image is active, then complete the task and release the import lock. On failure,
 * every step that ran is reverted in reverse order, as taskflow's AlwaysRevert does, and the task fails. The
 * image is left as upstream leaves it.
 */
export async function runApiImageImport(
  task: TaskRecord,
  ctx: TaskContext,
  authToken: string | null = null,
): Promise<void> {
  const parsed = inputSchema.safeParse(task.input);
  if (!parsed.success) {
    await endTask(ctx, task, { status: 'failure', message: "Missing required 'image_id' field" });
    return;
  }
  const processing = await beginTask(ctx, task);
  if (processing === null) return;
  const flow = new ApiImportFlow(processing, parsed.data, ctx, authToken);
  await flow.run();
}

class ApiImportFlow implements ImportFlowScope {
  readonly imageId: string;
  private readonly method: string;
  readonly stores: Array<string | null>;
  private readonly log: TaskContext['log'];

  constructor(
    readonly task: TaskRecord,
    private readonly input: ApiImportInput,
    readonly ctx: TaskContext,
    // The requester's token, for glance-download's requests on their behalf; kept in memory only.
    private readonly authToken: string | null,
  ) {
    this.imageId = input.image_id;
    this.method = input.import_req.method.name;
    this.stores = input.backend;
    this.log = ctx.log.child({ taskId: task.id, imageId: this.imageId, method: this.method });
  }

  async change(decide: Parameters<TaskContext['imports']['change']>[2]): Promise<ImageRecord> {
    const saved = await this.ctx.imports.change(this.imageId, this.task.id, decide);
    this.ctx.events.imageUpdated(saved);
    return saved;
  }

  checkLock(): Promise<ImageRecord> {
    return this.ctx.imports.change(this.imageId, this.task.id, () => ({}));
  }

  async run(): Promise<void> {
    let marked: ImageRecord;
    try {
      // get_flow marks the image before any atom runs; failing here there is nothing to revert.
      marked = await this.change((image) => ({
        ...(this.method === 'copy-image' ? {} : { status: 'importing' as const }),
        setProperties: {
          [IMPORTING_STORES]: mergeStoreList(image.properties[IMPORTING_STORES], this.stores),
          [FAILED_STORES]: mergeStoreList(image.properties[FAILED_STORES], this.stores, true),
        },
        removeProperties: [STAGE_HOST],
      }));
    } catch (err) {
      await this.releaseLock();
      await this.fail(err);
      return;
    }
    try {
      await this.assertQuota(marked);
    } catch (err) {
      await this.change((image) => ({
        ...(image.status === 'importing' ? { status: 'queued' as const } : {}),
        setProperties: {
          [IMPORTING_STORES]: mergeStoreList(image.properties[IMPORTING_STORES], this.stores, true),
        },
      })).catch((undoErr: unknown) => this.log.error({ err: undoErr }, 'could not undo the import marking'));
      await this.releaseLock();
      await this.fail(err);
      return;
    }
    const ran: Array<{ step: Step; failed: boolean }> = [];
    try {
      for (const step of this.steps()) {
        const record = { step, failed: true };
        ran.push(record);
        await step.execute();
        record.failed = false;
      }
    } catch (err) {
      this.log.warn({ err }, 'image import failed; reverting');
      for (const { step, failed } of ran.reverse()) {
        await step.revert?.(failed).catch((revertErr: unknown) => {
          this.log.error({ err: revertErr, step: step.name }, 'could not revert an import step');
        });
      }
      await this.fail(err);
    }
  }

  private steps(): Step[] {
    const steps: Step[] = [
      {
        name: 'ImageLock',
        execute: () => this.assertLock(),
        revert: () => this.releaseLock(),
      },
    ];
    if (this.method === 'web-download') steps.push(this.webDownload());
    if (this.method === 'glance-download') steps.push(...this.glanceDownload());
    if (this.method === 'copy-image') steps.push(copyImageStep(this));
    const mustSucceed = this.input.import_req.all_stores_must_succeed ?? true;
    // A copy never activates the image: it already is active.
    const copying = this.method === 'copy-image';
    this.stores.forEach((store, i) => {
      const setActive = !copying && (!mustSucceed || i === this.stores.length - 1);
      steps.push(this.importToStore(store, mustSucceed, setActive));
    });
    steps.push(
      {
        name: 'DeleteFromFS',
        execute: () => this.ctx.staging.remove(this.imageId),
      },
      {
        name: 'VerifyImageState',
        execute: async () => {
          await this.change((image) => {
            if (image.status !== 'active') throw new ImportFailed('None of the uploads finished!');
            return {};
          });
        },
        revert: async () => {
          if (this.method !== 'copy-image') await this.change(() => ({ status: 'queued' }));
        },
      },
      {
        name: 'CompleteTask',
        execute: () => this.complete(),
      },
    );
    return steps;
  }

  private async assertLock(): Promise<void> {
    await this.checkLock();
  }

  /** _WebDownload: the URI's data into staging, checked against the Content-Length the server announced. */
  private webDownload(): Step {
    return stagingDownload(this, 'WebDownload', async () => {
      const uri = this.input.import_req.method.uri;
      if (typeof uri !== 'string') throw new ImportFailed('No URI to download the image data from');
      const data = await this.ctx.openExternal(uri);
      return { data, expectedSize: data.contentLength, source: uri };
    });
  }

  /** glance-download's parameters as import_image recorded them (it checked the image id is a UUID). */
  private glanceDownload(): Step[] {
    const method = this.input.import_req.method;
    const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));
    const params = {
      region: text(method.glance_region),
      imageId: text(method.glance_image_id),
      serviceInterface: text(method.glance_service_interface ?? 'public'),
    };
    return glanceDownloadSteps(this, params, this.authToken);
  }

  /** _ImportToStore: the staged data through the upload pipeline into the store, then onto the image. */
  private importToStore(store: string | null, mustSucceed: boolean, setActive: boolean): Step {
    let location: string | null = null;
    return {
      name: `ImportToStore-${store ?? ''}`,
      execute: async () => {
        try {
          location = await this.copyStagedData(store, setActive);
        } catch (err) {
          if (mustSucceed) throw err;
          this.log.warn({ err, store }, 'import to a store failed; all_stores_must_succeed is false');
          if (store !== null) {
            await this.change((image) => ({
              setProperties: {
                [IMPORTING_STORES]: mergeStoreList(image.properties[IMPORTING_STORES], [store], true),
                [FAILED_STORES]: mergeStoreList(image.properties[FAILED_STORES], [store]),
              },
            }));
          }
        }
      },
      revert: async (failed) => {
        await this.change((image) => ({
          removeLocations: image.locations.filter((l) => l.url === location).map((l) => l.id),
          setProperties: {
            [IMPORTING_STORES]: mergeStoreList(image.properties[IMPORTING_STORES], [store], true),
            ...(failed && store !== null
              ? { [FAILED_STORES]: mergeStoreList(image.properties[FAILED_STORES], [store]) }
              : {}),
          },
        }));
        // remove_location_for_store pops the location, which deletes its data; failing that only warns.
        if (location !== null) {
          const entry = this.ctx.stores.forLocation({
            url: location,
            metadata: store === null ? {} : { store },
          });
          await entry?.store.delete(location).catch((err: unknown) => {
            this.log.warn({ err, store }, 'could not delete the data of a reverted import');
          });
        }
      },
    };
  }

  private async copyStagedData(store: string | null, setActive: boolean): Promise<string> {
    const image = await this.checkLock();
    const limit = await importLimit(this.ctx, this.task.owner, this.imageId);
    const staged = await this.ctx.staging.read(this.imageId);
    const target = store === null ? this.ctx.stores.default : this.ctx.stores.byId(store);
    if (!target) throw new ImportFailed(`Store for identifier ${store ?? ''} not found`);
    const backend = store === null ? null : target.id;
    // set_data: image.prepare before the data is written, image.upload at ERROR when writing it failed.
    this.ctx.events.imagePreparing(image, backend);
    let result: IngestResult;
    try {
      result = await ingestImageData(
        withProgress(staged, this.ctx, this.task),
        target.store,
        image,
        limit,
        this.ctx.hashingAlgorithm,
      );
    } catch (err) {
      this.ctx.events.imageUploadFailed(this.imageId, err);
      throw err;
    }
    let activated = false;
    try {
      const saved = await this.ctx.imports.change(this.imageId, this.task.id, (current) => {
        // _verify_uploaded_data: what the image already records (the staged size; a copy's size and hashes)
        // must still hold.
        const recorded: Array<[string, string | number | null, string | number]> = [
          ['size', current.size, result.size],
          ['os_hash_value', current.os_hash_value, result.osHashValue],
          ['checksum', current.checksum, result.md5],
        ];
        for (const [attribute, expected, actual] of recorded) {
          if (expected !== null && expected !== actual) {
            throw new ImportFailed(
              `${attribute} of uploaded data is different from current value set on the image.`,
            );
          }
        }
        activated = setActive && current.status !== 'active';
        return {
          data: {
            ...result,
            checksum: result.md5,
            locationMetadata: this.ctx.stores.multistore ? { store: target.id } : {},
          },
          ...(activated ? { status: 'active' as const } : {}),
          ...(store === null
            ? {}
            : {
                setProperties: {
                  [IMPORTING_STORES]: mergeStoreList(current.properties[IMPORTING_STORES], [store], true),
                },
              }),
        };
      });
      // The data is on the image and the image saved: image.upload, image.activate, image.update.
      this.ctx.events.imageUploaded(saved, backend, activated);
    } catch (err) {
      await target.store.delete(result.location);
      throw err;
    }
    return result.location;
  }

  private async complete(): Promise<void> {
    const done = await endTask(this.ctx, this.task, {
      status: 'success',
      result: { image_id: this.imageId },
    });
    if (!done) this.log.warn('the import finished but its task had already been ended');
    if (!(await this.ctx.imports.releaseLock(this.imageId, this.task.id))) {
      this.log.error('the import finished without holding the image import lock');
    }
    this.log.info('image import completed');
  }

  /**
   * upstream's assert_quota, once the image is marked: glance-direct will add the staged size to the project's
   * image_size_total; the methods that download into staging use staging space and an uploading slot.
   */
  private async assertQuota(image: ImageRecord): Promise<void> {
    const { quotas } = this.ctx;
    const owner = this.task.owner;
    const sizeMiB = Math.floor((image.size ?? 0) / (1024 * 1024));
    if (this.method === 'glance-direct') {
      await quotas.enforce(owner, 'image_size_total', sizeMiB);
    } else {
      await quotas.enforce(owner, 'image_stage_total', sizeMiB);
      await quotas.enforce(owner, 'image_count_uploading');
    }
  }

  private async releaseLock(): Promise<void> {
    if (!(await this.ctx.imports.releaseLock(this.imageId, this.task.id))) {
      this.log.warn('the import task lost its image lock while running');
    }
  }

  private async fail(err: unknown): Promise<void> {
    this.log.warn({ err }, 'image import task failed');
    await endTask(this.ctx, this.task, { status: 'failure', message: failureMessage(err) });
  }
}
