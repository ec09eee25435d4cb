import type { TaskRecord } from '../db/task-repo.js';
import type { ImageLocation, ImageRecord } from '../domain/types.js';
import { Invalid } from '../domain/errors.js';
import { StoreError } from '../store/errors.js';
import { FAILED_STORES, IMPORTING_STORES, mergeStoreList } from './bookkeeping.js';
import { ImageGone, ImportAborted } from './import-repo.js';
import type { ImportFlowScope, Step } from './import-step.js';
import { ImportFailed, importLimit, withProgress, type TaskContext } from './task-context.js';

function storeOf(loc: ImageLocation): string | undefined {
  const store = loc.metadata.store;
  return typeof store === 'string' ? store : undefined;
}

/**
 * import_image's copy-image checks of the requested stores: with all_stores the stores already holding the
 * image are dropped (an empty result means there is nothing to do), otherwise naming one of them is a 400.
 */
export function copyTargets(image: ImageRecord, stores: readonly string[], allStores: boolean): string[] {
  const holding = image.locations.filter((l) => l.status === 'active').map(storeOf);
  if (allStores) return stores.filter((s) => !holding.includes(s));
  const present = stores.find((s) => holding.includes(s));
  if (present !== undefined) throw new Invalid(`Image is already present at store '${present}'`);
  return [...stores];
}

/**
 * _CopyImage: the image's data from a store holding it into staging, where the import steps read it. Data
 * already staged at the image's size is reused (a copy that failed part-way keeps it for the next try);
 * anything else staged is a partial copy and is replaced. The default backend is read first, then the
 * others configured here, skipping a store whose copy is missing.
 */
async function stageStoredCopy(ctx: TaskContext, task: TaskRecord, image: ImageRecord): Promise<void> {
  const staged = await ctx.staging.size(image.id).catch((err: unknown) => {
    if (err instanceof StoreError && err.kind === 'not-found') return null;
    throw err;
  });
  if (staged !== null) {
    if (staged === image.size) return;
    ctx.log.info({ imageId: image.id, staged }, 'partial copy in staging; staging the image again');
    await ctx.staging.remove(image.id);
  }
  const defaultId = ctx.stores.default.id;
  const held = image.locations.filter((l) => l.status === 'active');
  const sources = [
    ...held.filter((l) => storeOf(l) === defaultId),
    ...held.filter((l) => storeOf(l) !== defaultId),
  ];
  const limit = await importLimit(ctx, task.owner, image.id);
  for (const loc of sources) {
    const storeId = storeOf(loc);
    const entry = storeId === undefined ? undefined : ctx.stores.byId(storeId);
    if (!entry) continue;
    let data: NodeJS.ReadableStream;
    try {
      data = await entry.store.get(loc.url);
    } catch (err) {
      if (!(err instanceof StoreError && err.kind === 'not-found')) throw err;
      ctx.log.error({ imageId: image.id, store: entry.id }, 'image data missing from a store holding it');
      continue;
    }
    await ctx.staging.write(image.id, withProgress(data, ctx, task), limit);
    return;
  }
  throw new ImportFailed('Image not found in any configured store');
}

/**
 * The CopyImage step of a copy-image flow. When the copy into staging fails, no store step runs, so its stores
 * move from importing to failed here, as web-download's step does for a failed download. upstream's _CopyImage
 * only logs, leaving the stores "importing" for good and a client waiting on them (Tempest's
 * wait_for_image_copied_to_stores) blind to the failure.
 */
export function copyImageStep(flow: ImportFlowScope): Step {
  return {
    name: 'CopyImage',
    execute: async () => {
      await stageStoredCopy(flow.ctx, flow.task, await flow.checkLock());
      // upstream's step runs in an action_wrapper block, which saves the image when it succeeds.
      await flow.change(() => ({}));
    },
    revert: async (failed) => {
      if (!failed) return;
      await flow
        .change((image) => ({
          setProperties: {
            [IMPORTING_STORES]: mergeStoreList(image.properties[IMPORTING_STORES], flow.stores, true),
            [FAILED_STORES]: mergeStoreList(image.properties[FAILED_STORES], flow.stores),
          },
        }))
        .catch((err: unknown) => {
          if (!(err instanceof ImageGone || err instanceof ImportAborted)) throw err;
        });
    },
  };
}
