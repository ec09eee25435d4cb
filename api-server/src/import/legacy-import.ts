import { randomUUID } from 'node:crypto';
import type { TaskRecord } from '../db/task-repo.js';
import { parseCreateBody } from '../domain/create.js';
import { isJsonObject } from '../domain/json-schema.js';
import { nowSeconds } from '../domain/clock.js';
import { checkStatusTransition } from '../domain/status.js';
import type { ImageRecord } from '../domain/types.js';
import { ingestImageData } from '../store/ingest.js';
import {
  beginTask,
  endTask,
  failureMessage,
  ImportFailed,
  importLimit,
  type TaskContext,
} from './task-context.js';

const INPUT_KEYS = ['import_from', 'import_from_format', 'image_properties'] as const;

/**
 * validate_location_uri: only http(s) sources; the message says why anything else is refused. The URI must
 * also pass the import filter, which openExternal checks again (with every redirect) when it fetches.
 */
export function legacyImportSourceProblem(location: unknown): string | null {
  if (location === undefined || location === null || location === '') {
    return `Invalid location: ${location === '' ? '' : 'None'}`;
  }
  if (typeof location !== 'string') return `Invalid location: ${JSON.stringify(location)}`;
  if (location.startsWith('http://') || location.startsWith('https://')) return null;
  if (location.startsWith('file:///') || location.startsWith('filesystem:///')) {
    return 'File based imports are not allowed. Please use a non-local source of image data.';
  }
  return "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']";
}

/**
 * upstream's legacy `import` task (POST /v2/tasks): create an image from `image_properties`, fill it with the
 * data at `import_from` through the upload pipeline, and make it active; the task's result names the image.
 * A failure deletes the image again, as the flow's revert does.
 */
export async function runLegacyImport(created: TaskRecord, ctx: TaskContext): Promise<void> {
  const task = await beginTask(ctx, created);
  if (task === null) return;
  const log = ctx.log.child({ taskId: task.id });
  const fail = async (err: unknown): Promise<void> => {
    log.warn({ err }, 'legacy import task failed');
    await endTask(ctx, task, { status: 'failure', message: failureMessage(err) });
  };
  const input = isJsonObject(task.input) ? task.input : {};
  const missing = INPUT_KEYS.find((key) => !Object.hasOwn(input, key));
  if (missing !== undefined) {
    await fail(new ImportFailed(`Input does not contain '${missing}' field`));
    return;
  }
  const problem = legacyImportSourceProblem(input.import_from);
  if (problem !== null) {
    await fail(new ImportFailed(problem));
    return;
  }
  let image: ImageRecord | null = null;
  try {
    // The task's creator passed tasks_api_access (an admin rule): it may create the image for its project.
    const changes = parseCreateBody(
      input.image_properties ?? {},
      { projectId: task.owner, isAdmin: true },
      {
        config: ctx.domain,
        authorize: () => undefined,
      },
    );
    const created = await ctx.images.create(changes.id ?? randomUUID(), changes);
    image = created;
    ctx.events.imageCreated(created);
    const saving = checkStatusTransition(created, 'saving');
    if (!saving.ok) throw new ImportFailed(saving.message);
    const savingAt = nowSeconds();
    if (!(await ctx.images.transition(created.id, 'queued', 'saving', savingAt))) {
      throw new ImportFailed(`Image ${created.id} is no longer queued`);
    }
    const moved: ImageRecord = { ...created, status: 'saving', updated_at: savingAt };
    ctx.events.imageUpdated(moved);
    const data = await ctx.openExternal(input.import_from as string);
    const limit = await importLimit(ctx, task.owner, created.id);
    const target = ctx.stores.default;
    ctx.events.imagePreparing(moved, null);
    const result = await ingestImageData(data.body, target.store, created, limit, ctx.hashingAlgorithm).catch(
      (err: unknown) => {
        ctx.events.imageUploadFailed(created.id, err);
        throw err;
      },
    );
    const saved = await ctx.images.completeUpload(created.id, {
      size: result.size,
      checksum: result.md5,
      osHashAlgo: result.osHashAlgo,
      osHashValue: result.osHashValue,
      virtualSize: result.virtualSize,
      location: result.location,
      locationMetadata: ctx.stores.multistore ? { store: target.id } : {},
    });
    if (saved === null) {
      await target.store.delete(result.location);
      throw new ImportFailed(
        `The Image ${created.id} object being created by this task ${task.id}, is no longer in valid status ` +
          'for further processing.',
      );
    }
    // _ImportToStore saves the image after set_data, then _SaveImage saves it again.
    ctx.events.imageUploaded(saved, null, true);
    ctx.events.imageUpdated(saved);
  } catch (err) {
    if (image !== null) {
      const imageId = image.id;
      const gone = image;
      await ctx.images
        .softDelete(imageId)
        .then(() => ctx.events.imageDeleted(gone, new Date()))
        .catch((deleteErr: unknown) => {
          log.error({ err: deleteErr, imageId }, 'could not delete the image of a failed import');
        });
    }
    await fail(err);
    return;
  }
  await endTask(ctx, task, { status: 'success', result: { image_id: image.id } });
  log.info({ imageId: image.id }, 'legacy import task completed');
}
