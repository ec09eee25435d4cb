import type { TaskRecord } from '../db/task-repo.js';
import type { ImageRecord } from '../domain/types.js';
import type { ImportEvents } from '../import/import-events.js';
import { noopNotifier, taskPayload, type Notifier, type TaskNotice } from '../notify/index.js';
import { ImageEvents } from './image-events.js';

function taskNotice(task: TaskRecord): TaskNotice {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    expires_at: task.expires_at,
    created_at: task.created_at,
    updated_at: task.updated_at,
  };
}

/**
 * The notifications of tasks (glance/notifier.py TaskProxy and TaskRepoProxy) and of the image saves a task
 * makes (ImageProxy, ImageRepoProxy, through ImageEvents), sent for import/ on the notifier. Upstream never calls
 * TaskRepoProxy.remove, so task.delete is never sent (expired tasks are soft-deleted by the database layer).
 */
export class TaskEvents implements ImportEvents {
  readonly #images: ImageEvents;

  constructor(private readonly notifier: Notifier = noopNotifier) {
    this.#images = new ImageEvents(notifier);
  }

  taskCreated(task: TaskRecord): void {
    this.task('task.create', task);
  }

  taskProcessing(task: TaskRecord): void {
    this.task('task.processing', task);
  }

  taskEnded(task: TaskRecord): void {
    if (task.status === 'success') this.task('task.success', task);
    else if (task.status === 'failure') this.task('task.failure', task);
  }

  taskRan(task: TaskRecord): void {
    this.task('task.run', task);
  }

  imageCreated(image: ImageRecord): void {
    this.#images.created(image);
  }

  imageUpdated(image: ImageRecord): void {
    this.#images.updated(image);
  }

  imagePreparing(image: ImageRecord, backend: string | null): void {
    this.#images.preparing(image, backend);
  }

  imageUploaded(image: ImageRecord, backend: string | null, activated: boolean): void {
    this.#images.uploaded(image, backend, activated);
  }

  imageUploadFailed(imageId: string, err: unknown): void {
    this.#images.uploadFailedWith(imageId, err);
  }

  imageDeleted(image: ImageRecord, deletedAt: Date): void {
    this.#images.deleted(image, deletedAt);
  }

  private task(eventType: string, task: TaskRecord): void {
    this.notifier.notify(eventType, () => taskPayload(taskNotice(task)));
  }
}
