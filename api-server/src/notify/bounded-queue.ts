// The notifier's bounded in-memory buffer: a request hands a message over and returns; when the broker is away
// long enough for the buffer to fill, the oldest message makes room for the newest (the newest tells the most
// about the current state of an image) and is counted as dropped.

export interface DropEpisodeHooks {
  /** The first drop after a period without drops. */
  onDropStart(capacity: number): void;
  /** The buffer drained after drops: how many were dropped in this episode. */
  onDropEnd(droppedInEpisode: number): void;
}

export class BoundedQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private droppedTotal = 0;
  private droppedInEpisode = 0;

  constructor(
    readonly capacity: number,
    private readonly hooks?: DropEpisodeHooks,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Messages dropped since start because the buffer was full (or because they ran out of retries). */
  get dropped(): number {
    return this.droppedTotal;
  }

  push(item: T): void {
    if (this.size >= this.capacity) {
      this.shift();
      this.countDrop(1);
    }
    this.items.push(item);
  }

  /** Puts items that could not be sent back at the front, in order, as far as the bound allows. */
  unshiftAll(front: readonly T[]): void {
    const room = this.capacity - this.size;
    const kept = front.length > room ? front.slice(front.length - Math.max(room, 0)) : front;
    if (kept.length < front.length) this.countDrop(front.length - kept.length);
    this.compact();
    this.items = [...kept, ...this.items];
  }

  peek(): T | undefined {
    return this.size > 0 ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) this.compact();
    if (this.size === 0) this.endEpisode();
    return item;
  }

  /** Removes up to `count` items from the front. */
  take(count: number): T[] {
    const out: T[] = [];
    while (out.length < count && this.size > 0) out.push(this.shift() as T);
    return out;
  }

  /** Drops items from the front while `expired` holds, counting them (a retry limit ran out). */
  dropWhile(expired: (item: T) => boolean): number {
    let n = 0;
    while (this.size > 0 && expired(this.items[this.head] as T)) {
      this.items[this.head] = undefined;
      this.head++;
      n++;
    }
    if (n > 0) this.countDrop(n);
    if (this.size === 0) this.endEpisode();
    return n;
  }

  private countDrop(n: number): void {
    if (this.droppedInEpisode === 0) this.hooks?.onDropStart(this.capacity);
    this.droppedInEpisode += n;
    this.droppedTotal += n;
  }

  private endEpisode(): void {
    if (this.droppedInEpisode === 0) return;
    const n = this.droppedInEpisode;
    this.droppedInEpisode = 0;
    this.hooks?.onDropEnd(n);
  }

  private compact(): void {
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}
