import { Transform, type TransformCallback } from 'node:stream';
import { FileInspector } from './file-inspector.js';
import { Qcow2Inspector } from './qcow2.js';
import { QedInspector } from './qed.js';
import { VdiInspector } from './vdi.js';
import { VhdInspector } from './vhd.js';
import { VhdxInspector } from './vhdx.js';
import { VmdkInspector } from './vmdk.js';

const INSPECTORS: Readonly<Record<string, new () => FileInspector>> = {
  raw: FileInspector,
  qcow2: Qcow2Inspector,
  vhd: VhdInspector,
  vhdx: VhdxInspector,
  vmdk: VmdkInspector,
  vdi: VdiInspector,
  qed: QedInspector,
};

// Upstream's inspector sees the upload as glance_store's filesystem reads (filesystem_store_chunk_size), and when
// a region is declared depends on where those reads end; inspecting in the same blocks gives the same results.
const UPSTREAM_READ_SIZE = 64 * 1024;

export interface FormatInspectingStream extends NodeJS.ReadWriteStream {
  /** The image's virtual size once the stream has ended; null when it is unknown or the format does not match. */
  virtualSize(): number | null;
}

class FormatInspectorStream extends Transform implements FormatInspectingStream {
  readonly #inspector: FileInspector | null;
  #failed = false;
  #block: Buffer[] = [];
  #blockBytes = 0;

  constructor(inspector: FileInspector | null) {
    super();
    this.#inspector = inspector;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#inspect(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#blockBytes > 0) this.#eatBlock();
    callback();
  }

  virtualSize(): number | null {
    if (this.#inspector === null) return null;
    try {
      if (!this.#inspector.formatMatch) return null;
      const size = this.#inspector.virtualSize;
      return size > 0n && size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : null;
    } catch {
      // Upstream lets a malformed header fail the whole upload here; a size we cannot read is just unknown.
      return null;
    }
  }

  #inspect(chunk: Buffer): void {
    const inspector = this.#inspector;
    if (inspector === null || this.#failed) return;
    let rest = chunk;
    while (rest.length > 0 && !this.#failed) {
      if (this.#blockBytes === 0 && inspector.settled) {
        inspector.skip(rest.length);
        return;
      }
      const piece = rest.subarray(0, UPSTREAM_READ_SIZE - this.#blockBytes);
      rest = rest.subarray(piece.length);
      this.#block.push(piece);
      this.#blockBytes += piece.length;
      if (this.#blockBytes === UPSTREAM_READ_SIZE) this.#eatBlock();
    }
  }

  #eatBlock(): void {
    const block = this.#block.length === 1 ? this.#block[0]! : Buffer.concat(this.#block, this.#blockBytes);
    this.#block = [];
    this.#blockBytes = 0;
    try {
      this.#inspector?.eatChunk(block);
    } catch {
      // As upstream's InfoWrapper: a failed inspector never breaks the upload, it just stops looking.
      this.#failed = true;
    }
  }
}

/**
 * A pass-through that computes a disk image's virtual size while it streams, as upstream's in-flight
 * format_inspector does for raw, qcow2, vhd, vhdx, vmdk, vdi and qed. Other formats are passed through and have
 * no virtual size. Only the header regions a format needs are kept (at most about 1 MiB for a VMDK descriptor).
 */
export function createFormatInspector(diskFormat: string): FormatInspectingStream {
  const Inspector = INSPECTORS[diskFormat];
  return new FormatInspectorStream(Inspector ? new Inspector() : null);
}
