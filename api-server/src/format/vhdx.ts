import { CaptureRegion } from './capture-region.js';
import { FileInspector, ImageFormatError } from './file-inspector.js';

const IDENTITY = Buffer.from('vhdxfile', 'latin1');
const REGION_TABLE_SIGNATURE = 0x69676572; // 'regi'
const METADATA_SIGNATURE = Buffer.from('metadata', 'latin1');
const METAREGION = '8B7CA206-4790-4B9A-B8FE-575F050F886E';
const VIRTUAL_DISK_SIZE = '2FA54224-CD1B-4876-B211-5DBED83BF4B8';
// qemu's bound: one 32-byte table header plus at most 2047 32-byte entries.
const METADATA_TABLE_MAX_SIZE = 32 * 2048;
const MAX_ENTRIES = 2048;

/** A Microsoft GUID (mixed-endian) in its usual upper-case text form. */
function guid(buf: Buffer): string {
  const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');
  const bytes = [...buf.subarray(8, 16)].map((b) => hex(b, 2));
  return [
    hex(buf.readUInt32LE(0), 8),
    hex(buf.readUInt16LE(4), 4),
    hex(buf.readUInt16LE(6), 4),
    bytes.slice(0, 2).join(''),
    bytes.slice(2).join(''),
  ].join('-');
}

/**
 * Microsoft VHDX: identity at 0, region table at 192 KiB naming the metadata region, whose table names the
 * "virtual disk size" item, a little-endian uint64. Regions are declared as each earlier one completes.
 */
export class VhdxInspector extends FileInspector {
  constructor() {
    super();
    this.newRegion('ident', new CaptureRegion(0, 32));
    this.newRegion('header', new CaptureRegion(192 * 1024, 64 * 1024));
  }

  override get formatMatch(): boolean {
    const ident = this.region('ident').data;
    return ident.length >= IDENTITY.length && ident.subarray(0, IDENTITY.length).equals(IDENTITY);
  }

  override get virtualSize(): bigint {
    if (!this.hasRegion('vds') || !this.region('vds').complete) return 0n;
    const vds = this.region('vds').data;
    if (vds.length !== 8) throw new ImageFormatError(`virtual disk size item is ${vds.length} bytes`);
    return vds.readBigUInt64LE(0);
  }

  protected override postProcess(): void {
    if (this.region('header').complete && !this.hasRegion('metadata')) {
      const region = this.#findMetaRegion();
      if (region) this.newRegion('metadata', region);
    } else if (this.hasRegion('metadata') && !this.hasRegion('vds')) {
      const region = this.#findMetaEntry(VIRTUAL_DISK_SIZE);
      if (region) this.newRegion('vds', region);
    }
  }

  #findMetaRegion(): CaptureRegion | null {
    const table = this.region('header').data;
    if (table.readUInt32LE(0) !== REGION_TABLE_SIGNATURE) {
      throw new ImageFormatError(
        `Region signature not found at ${this.region('header').offset.toString(16)}`,
      );
    }
    const count = table.readUInt32LE(8);
    if (count >= MAX_ENTRIES) throw new ImageFormatError(`Region count is ${count} (limit 2047)`);
    for (let i = 0; i < count; i++) {
      const entry = table.subarray(16 + i * 32, 16 + i * 32 + 32);
      if (guid(entry.subarray(0, 16)) === METAREGION) {
        // The entry's length covers the whole region; only its table is needed.
        return new CaptureRegion(Number(entry.readBigUInt64LE(16)), METADATA_TABLE_MAX_SIZE);
      }
    }
    return null;
  }

  #findMetaEntry(wanted: string): CaptureRegion | null {
    const metadata = this.region('metadata');
    const table = metadata.data;
    if (table.length < 32) return null;
    if (!table.subarray(0, 8).equals(METADATA_SIGNATURE)) {
      throw new ImageFormatError('Invalid signature for metadata region');
    }
    const count = table.readUInt16LE(10);
    if (table.length < 32 + count * 32) return null;
    if (count >= MAX_ENTRIES) throw new ImageFormatError(`Metadata item count is ${count} (limit 2047)`);
    for (let i = 0; i < count; i++) {
      const entry = 32 + i * 32;
      if (guid(table.subarray(entry, entry + 16)) === wanted) {
        const itemOffset = table.readUInt32LE(entry + 16);
        const itemLength = Math.min(table.readUInt32LE(entry + 20), METADATA_TABLE_MAX_SIZE);
        metadata.truncate();
        // Item offsets count from the start of the metadata region, not of the file.
        return new CaptureRegion(metadata.offset + itemOffset, itemLength);
      }
    }
    return null;
  }
}
