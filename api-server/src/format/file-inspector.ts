import type { CaptureRegion } from './capture-region.js';

/** The header is not the declared format, or is unsafe to parse further; inspection stops. */
export class ImageFormatError extends Error {
  override readonly name = 'ImageFormatError';
}

/**
 * Port of upstream's FileInspector: fed the image in stream order, it keeps only the regions a format needs. The
 * base class is the raw format, whose virtual size is the number of bytes seen.
 */
export class FileInspector {
  #totalCount = 0;
  readonly #regions = new Map<string, CaptureRegion>();

  eatChunk(chunk: Buffer): void {
    const before = new Set(this.#regions.keys());
    this.#totalCount += chunk.length;
    this.#capture(chunk, this.#regions.keys());
    this.postProcess();
    const added = [...this.#regions.keys()].filter((name) => !before.has(name));
    if (added.length > 0) this.#capture(chunk, added);
  }

  /** Counts bytes without looking at them; only equivalent to eatChunk() once `settled`. */
  skip(byteCount: number): void {
    this.#totalCount += byteCount;
  }

  /** No further bytes can change anything but the byte count: each region is complete or already passed. */
  get settled(): boolean {
    return [...this.#regions.values()].every((r) => r.complete || r.isBehind(this.#totalCount));
  }

  get formatMatch(): boolean {
    return true;
  }

  /** Upstream's virtual_size, with 0 meaning unknown; bigint because the header fields are 64-bit. */
  get virtualSize(): bigint {
    return BigInt(this.#totalCount);
  }

  /** Runs after each chunk; may declare regions that the same chunk then fills. */
  protected postProcess(): void {}

  protected region(name: string): CaptureRegion {
    const region = this.#regions.get(name);
    if (region === undefined) throw new ImageFormatError(`no region ${name}`);
    return region;
  }

  protected newRegion(name: string, region: CaptureRegion): void {
    if (this.#regions.has(name)) throw new ImageFormatError(`Inspector re-added region ${name}`);
    this.#regions.set(name, region);
  }

  protected hasRegion(name: string): boolean {
    return this.#regions.has(name);
  }

  #capture(chunk: Buffer, names: Iterable<string>): void {
    for (const name of names) {
      const region = this.region(name);
      if (!region.complete) region.capture(chunk, this.#totalCount);
    }
  }
}
