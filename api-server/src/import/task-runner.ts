import type { Logger } from 'pino';

/**
 * upstream's per-process tasks_pool: tasks run in this process, at most `concurrency` at a time, the rest
 * queued in order. Nothing is persisted: a task that has not finished when the process ends is simply gone,
 * as with upstream's in-process taskflow.
 */
export class TaskRunner {
  readonly #queue: Array<() => Promise<void>> = [];
  #running = 0;

  constructor(
    private readonly concurrency: number,
    private readonly log: Logger,
  ) {}

  /** Queues `work`; its failures are logged (a task records its own outcome). */
  spawn(name: string, work: () => Promise<void>): void {
    this.#queue.push(async () => {
      try {
        await work();
      } catch (err) {
        this.log.error({ err, task: name }, 'task failed unexpectedly');
      }
    });
    this.#next();
  }

  #next(): void {
    while (this.#running < this.concurrency) {
      const work = this.#queue.shift();
      if (work === undefined) break;
      this.#running += 1;
      void work().finally(() => {
        this.#running -= 1;
        this.#next();
      });
    }
  }
}
