import type { TaskRecord } from '../db/task-repo.js';
import type { ImageRecord } from '../domain/types.js';
import type { ImportChange } from './import-repo.js';
import type { TaskContext } from './task-context.js';

/** One taskflow atom: its work, and what undoes it (also run when the work itself failed). */
export interface Step {
  name: string;
  execute(): Promise<void>;
  revert?(failed: boolean): Promise<void>;
}

/** What a step of an api_image_import flow works on: its task, the image and the stores it imports to. */
export interface ImportFlowScope {
  readonly task: TaskRecord;
  readonly imageId: string;
  readonly stores: Array<string | null>;
  readonly ctx: TaskContext;
  /**
   * One save of the image (upstream's `with action_wrapper` block), made only while the task holds its import
   * lock, and its image.update. A `decide` that throws saves nothing.
   */
  change(decide: (image: ImageRecord) => ImportChange): Promise<ImageRecord>;
  /** The image, once the task is known to hold its import lock (assert_task_lock): no save, no event. */
  checkLock(): Promise<ImageRecord>;
}
