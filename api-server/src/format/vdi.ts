import { CaptureRegion } from './capture-region.js';
import { FileInspector } from './file-inspector.js';

const SIGNATURE = 0xbeda107f;

/** VirtualBox VDI: little-endian header, signature at 0x40, disk size (uint64) at 0x170. */
export class VdiInspector extends FileInspector {
  constructor() {
    super();
    this.newRegion('header', new CaptureRegion(0, 512));
  }

  override get formatMatch(): boolean {
    const header = this.region('header');
    return header.complete && header.data.readUInt32LE(0x40) === SIGNATURE;
  }

  override get virtualSize(): bigint {
    if (!this.formatMatch) return 0n;
    return this.region('header').data.readBigUInt64LE(0x170);
  }
}
