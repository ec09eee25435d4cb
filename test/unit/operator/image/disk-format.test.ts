import { formatMismatch, sniffFormat } from '../../../../operator/src/image/disk-format.js';

const withAt = (offset: number, magic: Buffer | string, size = 64 * 1024) => {
  const b = Buffer.alloc(size);
  (typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic).copy(b, offset);
  return b;
};

describe('disk format sniffing', () => {
  it.each([
    ['qcow2', withAt(0, 'QFI\xfb')],
    ['vmdk', withAt(0, 'KDMV')],
    ['vmdk', withAt(0, '# Disk DescriptorFile')],
    ['vhdx', withAt(0, 'vhdxfile')],
    ['vhd', withAt(0, 'conectix')],
    ['vdi', withAt(64, Buffer.from([0x7f, 0x10, 0xda, 0xbe]))],
    ['iso', withAt(32769, 'CD001')],
    ['raw', Buffer.alloc(4096)],
    ['raw', Buffer.from('QF')],
  ])('recognises %s', (format, head) => {
    expect(sniffFormat(head)).toBe(format);
  });

  it('refuses raw declared for a qcow2 and qcow2 declared for raw bytes', () => {
    expect(formatMismatch('raw', 'qcow2')).toMatch(/qcow2.*raw/);
    expect(formatMismatch('qcow2', 'raw')).toMatch(/raw.*qcow2/);
    expect(formatMismatch('vmdk', 'qcow2')).toBeDefined();
  });

  it('accepts what matches, an ISO as raw, a fixed VHD (raw-looking) and formats without a signature', () => {
    expect(formatMismatch('qcow2', 'qcow2')).toBeUndefined();
    expect(formatMismatch('raw', 'iso')).toBeUndefined();
    expect(formatMismatch('vhd', 'raw')).toBeUndefined();
    expect(formatMismatch('aki', 'raw')).toBeUndefined();
  });
});
