import { randomUUID } from 'node:crypto';
import type { TaskRecord } from '../db/task-repo.js';
import { parseCreateBody } from '../domain/create.js';
import { isJsonObject } from '../domain/json-schema.js';
import { checkStatusTransition } from '../domain/status.js';
import { ingestImageData } from '../store/ingest.js';
import { failureMessage, ImportFailed, importLimit, type TaskContext } from './task-context.js';

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
export async function runLegacyImport(task: TaskRecord, ctx: TaskContext): Promise<void> {
  if (!(await ctx.tasks.beginProcessing(task.id))) return;
  const log = ctx.log.child({ taskId: task.id });
  const fail = async (err: unknown): Promise<void> => {
    log.warn({ err }, 'legacy import task failed');
    await ctx.tasks.finish(
      task.id,
      { status: 'failure', message: failureMessage(err) },
      ctx.taskTimeToLiveHours,
    );
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
  let imageId: string | null = null;
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
    imageId = created.id;
    const saving = checkStatusTransition(created, 'saving');
    if (!saving.ok) throw new ImportFailed(saving.message);
    if (!(await ctx.images.transition(created.id, 'queued', 'saving'))) {
      throw new ImportFailed(`Image ${created.id} is no longer queued`);
    }
    const data = await ctx.openExternal(input.import_from as string);
    const limit = await importLimit(ctx, task.owner, created.id);
    const target = ctx.stores.default;
    const result = await ingestImageData(data.body, target.store, created, limit, ctx.hashingAlgorithm);
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
  } catch (err) {
    if (imageId !== null) {
      await ctx.images.softDelete(imageId).catch((deleteErr: unknown) => {
        log.error({ err: deleteErr, imageId }, 'could not delete the image of a failed import');
      });
    }
    await fail(err);
    return;
  }
  await ctx.tasks.finish(
    task.id,
    { status: 'success', result: { image_id: imageId } },
    ctx.taskTimeToLiveHours,
  );
  log.info({ imageId }, 'legacy import task completed');
}
