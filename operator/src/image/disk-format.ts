import type { DiskFormat } from '../api/image-types.js';

/** Enough of the start of an image to recognise it (an ISO's descriptor sits at 32 KiB). */
export const SNIFF_BYTES = 64 * 1024;

export type SniffedFormat = 'qcow2' | 'vmdk' | 'vhd' | 'vhdx' | 'vdi' | 'iso' | 'qed' | 'raw';

const at = (head: Buffer, offset: number, magic: string | Buffer) => {
  const m = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic;
  return head.length >= offset + m.length && head.subarray(offset, offset + m.length).equals(m);
};

/** The format the first bytes of an image show; `raw` when none is recognised. */
export function sniffFormat(head: Buffer): SniffedFormat {
  if (at(head, 0, 'QFI\xfb')) return 'qcow2';
  if (at(head, 0, 'QED\0')) return 'qed';
  if (at(head, 0, 'KDMV') || at(head, 0, '# Disk DescriptorFile')) return 'vmdk';
  if (at(head, 0, 'vhdxfile')) return 'vhdx';
  // A dynamic VHD starts with a copy of its footer; a fixed one only ends with it, and reads as raw.
  if (at(head, 0, 'conectix')) return 'vhd';
  if (at(head, 64, Buffer.from([0x7f, 0x10, 0xda, 0xbe]))) return 'vdi';
  if (at(head, 32769, 'CD001')) return 'iso';
  return 'raw';
}

/**
 * Why the content does not fit the declared disk_format, or undefined when it does. A raw declaration of a
 * recognised container format is the dangerous case (a guest could read the host's files through a qcow2
 * backing file), and a container declaration of raw bytes would not boot. Formats without a signature
 * (ami, ari, aki, ploop) are not checked; an ISO is raw bytes, so raw may hold one.
 */
export function formatMismatch(declared: DiskFormat, sniffed: SniffedFormat): string | undefined {
  if (['ami', 'ari', 'aki', 'ploop'].includes(declared)) return undefined;
  if (declared === sniffed) return undefined;
  if (declared === 'raw' && sniffed === 'iso') return undefined;
  if (declared === 'vhd' && sniffed === 'raw') return undefined;
  return `the data is ${sniffed}, but diskFormat is ${declared}`;
}
