import { z } from 'zod';
import type { TaskRecord } from '../db/task-repo.js';
import type { ImageRecord } from '../domain/types.js';
import { HttpError } from '../http/errors.js';
import { StoreError } from '../store/errors.js';
import { ingestImageData, type IngestResult } from '../store/ingest.js';
import { FAILED_STORES, IMPORTING_STORES, mergeStoreList, STAGE_HOST } from './bookkeeping.js';
import { FetchFailed } from './external-fetch.js';
import { ImageGone, ImportAborted } from './import-repo.js';
import { redactedUri } from './uri-filter.js';
import { failureMessage, ImportFailed, importLimit, withProgress, type TaskContext } from './task-context.js';

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

/** One taskflow atom: its work, and what undoes it (also run when the work itself failed). */
interface Step {
  name: string;
  execute(): Promise<void>;
  revert?(failed: boolean): Promise<void>;
}

/**
 * upstream's api_image_import flow for glance-direct and web-download: take the image (importing, store
 * bookkeeping), download into staging (web-download), copy staged data into each store, drop the staged copy,
 * check the image went active, then complete the task and release the import lock. On failure, every step
 * that ran is reverted in reverse order, as taskflow's AlwaysRevert does, and the task fails. The image is
 * left as upstream leaves it.
 */
export async function runApiImageImport(task: TaskRecord, ctx: TaskContext): Promise<void> {
  const parsed = inputSchema.safeParse(task.input);
  if (!parsed.success) {
    await ctx.tasks.finish(
      task.id,
      { status: 'failure', message: "Missing required 'image_id' field" },
      ctx.taskTimeToLiveHours,
    );
    return;
  }
  if (!(await ctx.tasks.beginProcessing(task.id))) return;
  const flow = new ApiImportFlow(task, parsed.data, ctx);
  await flow.run();
}

class ApiImportFlow {
  private readonly imageId: string;
  private readonly method: string;
  private readonly stores: Array<string | null>;
  private readonly log: TaskContext['log'];

  constructor(
    private readonly task: TaskRecord,
    private readonly input: ApiImportInput,
    private readonly ctx: TaskContext,
  ) {
    this.imageId = input.image_id;
    this.method = input.import_req.method.name;
    this.stores = input.backend;
    this.log = ctx.log.child({ taskId: task.id, imageId: this.imageId, method: this.method });
  }

  private change(decide: Parameters<TaskContext['imports']['change']>[2]): Promise<ImageRecord> {
    return this.ctx.imports.change(this.imageId, this.task.id, decide);
  }

  async run(): Promise<void> {
    try {
      // get_flow marks the image before any atom runs; failing here there is nothing to revert.
      await this.change((image) => ({
        status: 'importing',
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
    const mustSucceed = this.input.import_req.all_stores_must_succeed ?? true;
    this.stores.forEach((store, i) => {
      steps.push(this.importToStore(store, mustSucceed, !mustSucceed || i === this.stores.length - 1));
    });
    steps.push(
      {
        name: 'DeleteFromFS',
        execute: () => this.ctx.staging.remove(this.imageId),
      },
      {
        name: 'VerifyImageState',
        execute: async () => {
          const image = await this.ctx.images.get(this.imageId);
          if (image?.status !== 'active') throw new ImportFailed('None of the uploads finished!');
        },
        revert: async () => {
          await this.change(() => ({ status: 'queued' }));
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
    await this.change(() => ({}));
  }

  /** _WebDownload: the URI's data into staging, checked against the Content-Length the server announced. */
  private webDownload(): Step {
    let staged = false;
    return {
      name: 'WebDownload',
      execute: async () => {
        const uri = this.input.import_req.method.uri;
        if (typeof uri !== 'string') throw new ImportFailed('No URI to download the image data from');
        const data = await this.ctx.openExternal(uri);
        const limit = await importLimit(this.ctx, this.task.owner, this.imageId);
        // Progress on the task keeps the import lock fresh however long the download takes.
        const body = withProgress(data.body, this.ctx, this.task);
        const stored = await this.ctx.staging.write(this.imageId, body, limit).catch((err: unknown) => {
          // Limits and store failures say what they are; anything else broke the download itself.
          if (err instanceof HttpError || err instanceof StoreError || err instanceof ImportAborted)
            throw err;
          throw new FetchFailed(`Could not download ${redactedUri(uri)}: ${(err as Error).message}`, {
            cause: err,
          });
        });
        staged = true;
        if (data.contentLength !== null && stored.size !== data.contentLength) {
          throw new ImportFailed(
            `Task ${this.task.id} failed because downloaded data size ${stored.size} is different from ` +
              `expected ${data.contentLength}`,
          );
        }
      },
      revert: async () => {
        await this.change((image) => ({
          status: 'queued',
          setProperties: {
            [IMPORTING_STORES]: mergeStoreList(image.properties[IMPORTING_STORES], this.stores, true),
            [FAILED_STORES]: mergeStoreList(image.properties[FAILED_STORES], this.stores),
          },
        })).catch((err: unknown) => {
          if (!(err instanceof ImageGone || err instanceof ImportAborted)) throw err;
        });
        if (staged) await this.ctx.staging.remove(this.imageId);
      },
    };
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
      },
    };
  }

  private async copyStagedData(store: string | null, setActive: boolean): Promise<string> {
    const image = await this.change(() => ({}));
    const limit = await importLimit(this.ctx, this.task.owner, this.imageId);
    const staged = await this.ctx.staging.read(this.imageId);
    const target = store === null ? this.ctx.stores.default : this.ctx.stores.byId(store);
    if (!target) throw new ImportFailed(`Store for identifier ${store ?? ''} not found`);
    const result: IngestResult = await ingestImageData(
      withProgress(staged, this.ctx, this.task),
      target.store,
      image,
      limit,
      this.ctx.hashingAlgorithm,
    );
    try {
      await this.change((current) => {
        // _verify_uploaded_data: the size recorded when the data was staged must still hold.
        if (current.size !== null && current.size !== result.size) {
          throw new ImportFailed('size of uploaded data is different from current value set on the image.');
        }
        return {
          data: {
            ...result,
            checksum: result.md5,
            locationMetadata: this.ctx.stores.multistore ? { store: target.id } : {},
          },
          ...(setActive && current.status !== 'active' ? { status: 'active' as const } : {}),
          ...(store === null
            ? {}
            : {
                setProperties: {
                  [IMPORTING_STORES]: mergeStoreList(current.properties[IMPORTING_STORES], [store], true),
                },
              }),
        };
      });
    } catch (err) {
      await target.store.delete(result.location);
      throw err;
    }
    return result.location;
  }

  private async complete(): Promise<void> {
    const done = await this.ctx.tasks.finish(
      this.task.id,
      { status: 'success', result: { image_id: this.imageId } },
      this.ctx.taskTimeToLiveHours,
    );
    if (!done) this.log.warn('the import finished but its task had already been ended');
    if (!(await this.ctx.imports.releaseLock(this.imageId, this.task.id))) {
      this.log.error('the import finished without holding the image import lock');
    }
    this.log.info('image import completed');
  }

  private async releaseLock(): Promise<void> {
    if (!(await this.ctx.imports.releaseLock(this.imageId, this.task.id))) {
      this.log.warn('the import task lost its image lock while running');
    }
  }

  private async fail(err: unknown): Promise<void> {
    this.log.warn({ err }, 'image import task failed');
    await this.ctx.tasks.finish(
      this.task.id,
      { status: 'failure', message: failureMessage(err) },
      this.ctx.taskTimeToLiveHours,
    );
  }
}
