import { GlanceError } from '../domain/errors.js';
import { StoreError } from '../store/errors.js';
import { FAILED_STORES, IMPORTING_STORES, mergeStoreList } from './bookkeeping.js';
import { FetchFailed, type ExternalData } from '../net/external-fetch.js';
import { ImageGone, ImportAborted } from './import-repo.js';
import type { ImportFlowScope, Step } from './import-step.js';
import { ImportFailed, importLimit, withProgress } from './task-context.js';
import { redactedUri } from '../net/uri-filter.js';

/** An opened download: its data, the size it must have (if known) and where it comes from (for messages). */
export interface OpenedDownload {
  data: ExternalData;
  expectedSize: number | null;
  source: string;
}

/**
 * upstream's BaseDownload (web-download, glance-download): the opened data into staging, checked against the
 * size it must have. Its revert puts the image back to queued, moves the stores from importing to failed and
 * drops whatever was staged.
 */
export function stagingDownload(
  flow: ImportFlowScope,
  name: string,
  open: () => Promise<OpenedDownload>,
): Step {
  const { ctx, task, imageId, stores } = flow;
  let staged = false;
  return {
    name,
    execute: async () => {
      const { data, expectedSize, source } = await open();
      const limit = await importLimit(ctx, task.owner, imageId);
      // Progress on the task keeps the import lock fresh however long the download takes.
      const body = withProgress(data.body, ctx, task);
      const stored = await ctx.staging.write(imageId, body, limit).catch((err: unknown) => {
        // Limits and store failures say what they are; anything else broke the download itself.
        if (err instanceof GlanceError || err instanceof StoreError || err instanceof ImportAborted)
          throw err;
        throw new FetchFailed(`Could not download ${redactedUri(source)}: ${(err as Error).message}`, {
          cause: err,
        });
      });
      staged = true;
      if (expectedSize !== null && stored.size !== expectedSize) {
        throw new ImportFailed(
          `Task ${task.id} failed because downloaded data size ${stored.size} is different from ` +
            `expected ${expectedSize}`,
        );
      }
    },
    revert: async () => {
      await flow
        .change((image) => ({
          status: 'queued',
          setProperties: {
            [IMPORTING_STORES]: mergeStoreList(image.properties[IMPORTING_STORES], stores, true),
            [FAILED_STORES]: mergeStoreList(image.properties[FAILED_STORES], stores),
          },
        }))
        .catch((err: unknown) => {
          if (!(err instanceof ImageGone || err instanceof ImportAborted)) throw err;
        });
      if (staged) await ctx.staging.remove(imageId);
    },
  };
}
