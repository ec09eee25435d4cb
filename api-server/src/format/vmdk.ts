import { CaptureRegion } from './capture-region.js';
import { FileInspector, ImageFormatError } from './file-inspector.js';

const MAGIC = Buffer.from('KDMV', 'latin1');
// qemu hard-codes the embedded descriptor's place and bound: sector 1, at most 1 MiB - 1.
const DESC_OFFSET = 0x200n;
const DESC_MAX_SIZE = (1n << 20n) - 1n;
const GD_AT_END = 0xffffffffffffffffn;
const CREATE_TYPE = Buffer.from('createType="', 'latin1');
const SUPPORTED_TYPES = new Set(['monolithicSparse', 'streamOptimized']);

/**
 * VMware VMDK, single-file sparse variants only: a little-endian 512-byte header, then the text descriptor whose
 * createType must be monolithicSparse or streamOptimized. Descriptor-only files do not match, as upstream.
 */
export class VmdkInspector extends FileInspector {
  constructor() {
    super();
    this.newRegion('header', new CaptureRegion(0, 512));
  }

  override get formatMatch(): boolean {
    const data = this.region('header').data;
    return data.length >= MAGIC.length && data.subarray(0, MAGIC.length).equals(MAGIC);
  }

  override get virtualSize(): bigint {
    if (!this.hasRegion('descriptor') || !this.region('descriptor').complete) return 0n;
    const descriptor = this.region('descriptor').data;
    const found = descriptor.indexOf(CREATE_TYPE);
    if (found < 0) throw new ImageFormatError('VMDK descriptor has no createType');
    const typeIdx = found + CREATE_TYPE.length;
    const typeEnd = descriptor.indexOf('"', typeIdx);
    // A missing quote is Python's find() = -1, which as a slice end means "up to the last byte".
    const end = typeEnd < 0 ? descriptor.length - 1 : typeEnd;
    const vmdkType = typeEnd - typeIdx < 64 ? descriptor.subarray(typeIdx, Math.max(typeIdx, end)) : null;
    if (vmdkType === null || !SUPPORTED_TYPES.has(vmdkType.toString('latin1'))) return 0n;
    return this.region('header').data.readBigUInt64LE(12) * 512n;
  }

  protected override postProcess(): void {
    const header = this.region('header');
    if (!header.complete) return;
    const data = header.data;
    if (!data.subarray(0, 4).equals(MAGIC)) throw new ImageFormatError('Signature KDMV not found');
    const version = data.readUInt32LE(4);
    if (version < 1 || version > 3) throw new ImageFormatError(`Unsupported format version ${version}`);
    // A footer (grain directory at the end) overrides the header, which a stream cannot honour.
    if (data.readBigUInt64LE(56) === GD_AT_END) throw new ImageFormatError('Unsupported VMDK footer');
    const descOffset = data.readBigUInt64LE(28) * 512n;
    const descNum = data.readBigUInt64LE(36) * 512n;
    const descSize = descNum < DESC_MAX_SIZE ? descNum : DESC_MAX_SIZE;
    if (descOffset !== DESC_OFFSET) throw new ImageFormatError('Wrong descriptor location');
    if (!this.hasRegion('descriptor')) {
      this.newRegion('descriptor', new CaptureRegion(Number(descOffset), Number(descSize)));
    }
  }
}
