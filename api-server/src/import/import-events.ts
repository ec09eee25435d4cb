import type { TaskRecord } from '../db/task-repo.js';
import type { ImageRecord } from '../domain/types.js';

/**
 * What a task tells the world as it goes: the task.* and image.* notifications upstream's notifier proxies send
 * from inside a task (glance/notifier.py TaskProxy, TaskRepoProxy, ImageProxy, ImageRepoProxy). import/ may not
 * reach the notifier, so services/ implements this on top of it and the composition root hands it in. Each call
 * returns at once and never throws.
 */
export interface ImportEvents {
  /** task.create, after the task row was added (and, for an import, the image's lock taken). */
  taskCreated(task: TaskRecord): void;
  /** task.processing, once the task moved pending → processing. */
  taskProcessing(task: TaskRecord): void;
  /** task.success or task.failure, after the task ended; `task` carries its final status and expiry. */
  taskEnded(task: TaskRecord): void;
  /**
   * task.run, once the executor has returned: upstream sends it from the object the request created, so it is
   * the last event of a task and its status is still "pending".
   */
  taskRan(task: TaskRecord): void;
  /** image.create (the legacy import task creates its image). */
  imageCreated(image: ImageRecord): void;
  /** image.update, after each save of the image a task makes. */
  imageUpdated(image: ImageRecord): void;
  /** image.prepare, before a task writes data for the image to `backend` (null: the one store). */
  imagePreparing(image: ImageRecord, backend: string | null): void;
  /** image.upload, image.activate (when `activated`) and image.update, once the data is on the image. */
  imageUploaded(image: ImageRecord, backend: string | null, activated: boolean): void;
  /** image.upload at ERROR priority: writing the data failed with `err`. */
  imageUploadFailed(imageId: string, err: unknown): void;
  /** image.delete (the legacy import task deletes the image it made when it fails). */
  imageDeleted(image: ImageRecord, deletedAt: Date): void;
}

/** No notifications (notifications off, and tests that do not look at them). */
export const NO_IMPORT_EVENTS: ImportEvents = Object.freeze({
  taskCreated: () => undefined,
  taskProcessing: () => undefined,
  taskEnded: () => undefined,
  taskRan: () => undefined,
  imageCreated: () => undefined,
  imageUpdated: () => undefined,
  imagePreparing: () => undefined,
  imageUploaded: () => undefined,
  imageUploadFailed: () => undefined,
  imageDeleted: () => undefined,
});
