import { CaptureRegion } from './capture-region.js';
import { FileInspector } from './file-inspector.js';

const MAGIC = Buffer.from('QFI\xfb', 'latin1');

/** QEMU qcow2: big-endian header, magic at 0, virtual size (uint64) at 24. */
export class Qcow2Inspector extends FileInspector {
  constructor() {
    super();
    this.newRegion('header', new CaptureRegion(0, 512));
  }

  override get formatMatch(): boolean {
    const header = this.region('header');
    return header.complete && header.data.subarray(0, 4).equals(MAGIC);
  }

  override get virtualSize(): bigint {
    if (!this.formatMatch) return 0n;
    return this.region('header').data.readBigUInt64BE(24);
  }
}
