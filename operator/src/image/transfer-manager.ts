import type { TransferProgress, TransferResult } from './transfer-pipeline.js';

export type TransferState =
  | { kind: 'waiting' }
  | { kind: 'running' }
  | { kind: 'done'; result: TransferResult }
  | { kind: 'failed'; error: unknown };

export interface Transfer {
  /** What the transfer is for (the content hash and image id): another target cancels it. */
  readonly target: string;
  readonly progress: TransferProgress;
  state: TransferState;
  readonly abort: AbortController;
}

/**
 * Transfers run beside the reconciles, not inside them: a reconcile starts one, later reconciles read its
 * progress into the status and collect its outcome; its end asks for such a reconcile at once. At most `limit` run at once; the others wait for a slot.
 * Everything is in memory: a restarted operator finds the image still queued and starts over.
 */
export class TransferManager {
  private readonly transfers = new Map<string, Transfer>();
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get active(): number {
    return this.running;
  }

  get(key: string): Transfer | undefined {
    return this.transfers.get(key);
  }

  /**
   * Starts `run` once a slot is free; its outcome stays readable until `forget`. `onSettled` is told when it
   * ends by itself (not when cancelled), after the outcome is recorded.
   */
  start(
    key: string,
    target: string,
    run: (progress: TransferProgress, signal: AbortSignal) => Promise<TransferResult>,
    onSettled: () => void = () => undefined,
  ): Transfer {
    const transfer: Transfer = {
      target,
      progress: { bytes: 0, resumes: 0 },
      state: { kind: 'waiting' },
      abort: new AbortController(),
    };
    this.transfers.set(key, transfer);
    void this.acquire(transfer.abort.signal).then(async (acquired) => {
      if (!acquired) {
        transfer.state = { kind: 'failed', error: new Error('cancelled before it started') };
        return;
      }
      transfer.state = { kind: 'running' };
      try {
        transfer.state = { kind: 'done', result: await run(transfer.progress, transfer.abort.signal) };
      } catch (error) {
        transfer.state = { kind: 'failed', error };
      } finally {
        this.release();
      }
      // Whoever cancelled it is reconciling already and has dropped it.
      if (!transfer.abort.signal.aborted) onSettled();
    });
    return transfer;
  }

  /** Aborts a transfer (if any) and drops it. */
  cancel(key: string): void {
    this.transfers.get(key)?.abort.abort();
    this.transfers.delete(key);
  }

  forget(key: string): void {
    this.transfers.delete(key);
  }

  cancelAll(): void {
    for (const key of [...this.transfers.keys()]) this.cancel(key);
  }

  private acquire(signal: AbortSignal): Promise<boolean> {
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.running++;
        resolve(true);
      };
      const onAbort = () => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(grant);
    });
  }

  private release(): void {
    this.running--;
    this.queue.shift()?.();
  }
}
