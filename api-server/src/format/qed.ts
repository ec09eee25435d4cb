import { CaptureRegion } from './capture-region.js';
import { FileInspector } from './file-inspector.js';

const MAGIC = Buffer.from('QED\0', 'latin1');

/**
 * QEMU QED. Upstream only recognises it and keeps the base class's virtual size, the number of bytes uploaded.
 */
export class QedInspector extends FileInspector {
  constructor() {
    super();
    this.newRegion('header', new CaptureRegion(0, 512));
  }

  override get formatMatch(): boolean {
    const header = this.region('header');
    return header.complete && header.data.subarray(0, 4).equals(MAGIC);
  }
}
