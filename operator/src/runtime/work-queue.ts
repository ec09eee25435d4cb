import type { ExponentialBackoff } from './rate-limiter.js';

/**
 * A work queue with client-go's guarantees: a key waiting in the queue is held once however often it is added
 * (de-duplication), a key is never handed to two workers at once, and a key added while a worker holds it is
 * queued again when that worker calls done(). Delayed adds and per-key backoff come on top.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(
    private readonly backoff: ExponentialBackoff,
    private readonly hooks: { onAdd?: () => void; onRetry?: () => void } = {},
  ) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.hooks.onAdd?.();
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds `key` after `delayMs`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    // A pending retry must not keep a process alive that is otherwise done.
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Adds `key` after its backoff: each call without a forget() in between doubles the wait. */
  addRateLimited(key: string): number {
    const delay = this.backoff.when(key);
    this.hooks.onRetry?.();
    this.addAfter(key, delay);
    return delay;
  }

  /** Ends the backoff of `key` (it succeeded). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** The next key to work on, or undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      if (!this.shuttingDown) this.add(key);
    }
    if (this.processing.size === 0) this.idleWaiters.splice(0).forEach((w) => w());
  }

  /** Keys waiting to be handed out (not counting delayed ones). */
  get length(): number {
    return this.queue.length;
  }

  /** Stops handing out keys, then resolves once every key handed out so far is done. */
  async shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.waiters.splice(0).forEach((w) => w(undefined));
    if (this.processing.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
