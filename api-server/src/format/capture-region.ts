/**
 * A byte range of the image to keep while the stream passes, with upstream's CaptureRegion semantics (including
 * how it treats a region declared after part of it went by), so virtual sizes match upstream's byte for byte.
 */
export class CaptureRegion {
  readonly offset: number;
  #length: number;
  #buffer: Buffer;
  #filled = 0;

  constructor(offset: number, length: number) {
    this.offset = offset;
    this.#length = length;
    this.#buffer = Buffer.alloc(length);
  }

  get length(): number {
    return this.#length;
  }

  get data(): Buffer {
    return this.#buffer.subarray(0, this.#filled);
  }

  get complete(): boolean {
    return this.#filled === this.#length;
  }

  /** Whether no later byte of the stream can reach this region any more. */
  isBehind(position: number): boolean {
    return !this.complete && this.offset + this.#length < position;
  }

  /** Stops capturing: what was captured so far becomes the region (upstream shortens its length). */
  truncate(): void {
    this.#length = this.#filled;
  }

  /** `position` is the stream offset just after `chunk`. */
  capture(chunk: Buffer, position: number): void {
    const readStart = position - chunk.length;
    if (
      (readStart <= this.offset && this.offset <= position) ||
      (this.offset <= readStart && readStart <= this.offset + this.#length)
    ) {
      const leadGap = readStart < this.offset ? this.offset - readStart : 0;
      const sourceEnd = Math.min(chunk.length, leadGap + this.#length - this.#filled);
      if (sourceEnd > leadGap) this.#filled += chunk.copy(this.#buffer, this.#filled, leadGap, sourceEnd);
    }
  }
}
