/**
 * Undo actions for what a run creates on the shared stack (images, a scratch project and its rows), so that an
 * interrupted run (Ctrl-C) still removes them. Each action runs once: from the scenario's own `finally`, or from
 * runAll() on a signal.
 */
export class Cleanups {
  readonly #pending = new Map<number, { label: string; action: () => Promise<void> }>();
  #next = 0;

  /** Registers an action; the returned function runs it now (and unregisters it). */
  add(label: string, action: () => Promise<void>): () => Promise<void> {
    const key = this.#next++;
    this.#pending.set(key, { label, action });
    return async () => {
      if (!this.#pending.delete(key)) return;
      await action();
    };
  }

  /** Runs every pending action, newest first; failures are reported, not thrown. */
  async runAll(report: (message: string) => void): Promise<void> {
    const entries = [...this.#pending.entries()].reverse();
    this.#pending.clear();
    for (const [, { label, action }] of entries) {
      try {
        await action();
      } catch (err) {
        report(`cleanup of ${label} failed: ${(err as Error).message}`);
      }
    }
  }
}
