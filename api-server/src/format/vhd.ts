import { CaptureRegion } from './capture-region.js';
import { FileInspector } from './file-inspector.js';

const MAGIC = Buffer.from('conectix', 'latin1');

/** Connectix/Microsoft VHD (qemu's vpc): big-endian footer copy at 0, "original size" (uint64) at 40. */
export class VhdInspector extends FileInspector {
  constructor() {
    super();
    this.newRegion('header', new CaptureRegion(0, 512));
  }

  // Upstream matches on a partial header too; only the size needs all of it.
  override get formatMatch(): boolean {
    const data = this.region('header').data;
    return data.length >= MAGIC.length && data.subarray(0, MAGIC.length).equals(MAGIC);
  }

  override get virtualSize(): bigint {
    const header = this.region('header');
    if (!header.complete || !this.formatMatch) return 0n;
    return header.data.readBigUInt64BE(40);
  }
}
