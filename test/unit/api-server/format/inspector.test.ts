import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createFormatInspector } from '../../../../api-server/src/format/inspector.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'format-inspector-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh image made by qemu-img, as a user would upload it. */
function qemuImage(format: string, size: string, options: string[] = []): Buffer {
  const file = path.join(dir, `${format}-${size}-${options.join('_').replace(/\W/g, '')}`);
  execFileSync('/usr/bin/qemu-img', ['create', '-q', '-f', format, ...options, file, size]);
  return readFileSync(file);
}

function split(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return chunks;
}

async function inspect(diskFormat: string, data: Buffer, chunkSize = 65536): Promise<number | null> {
  const inspector = createFormatInspector(diskFormat);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(split(data, chunkSize)),
    inspector,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  expect(Buffer.concat(out).equals(data)).toBe(true);
  return inspector.virtualSize();
}

describe('createFormatInspector', () => {
  const cases: [string, string, () => Buffer, number][] = [
    ['qcow2', '1 GiB', () => qemuImage('qcow2', '1G'), GiB],
    [
      'qcow2',
      '7 GiB with 2 MiB clusters',
      () => qemuImage('qcow2', '7G', ['-o', 'cluster_size=2M']),
      7 * GiB,
    ],
    ['vdi', '3 GiB', () => qemuImage('vdi', '3G'), 3 * GiB],
    ['vhdx', '1 GiB', () => qemuImage('vhdx', '1G'), GiB],
    [
      'vhdx',
      '5 MiB with small blocks',
      () => qemuImage('vhdx', '5M', ['-o', 'block_size=1M,log_size=1M']),
      5 * MiB,
    ],
    // qemu rounds a VHD to its CHS geometry unless told not to; the footer holds the rounded size.
    ['vhd', '1 GiB (CHS-rounded by qemu)', () => qemuImage('vpc', '1G'), 1073995776],
    ['vhd', '1 GiB with force_size', () => qemuImage('vpc', '1G', ['-o', 'force_size=on']), GiB],
    [
      'vmdk',
      '2 GiB monolithicSparse',
      () => qemuImage('vmdk', '2G', ['-o', 'subformat=monolithicSparse']),
      2 * GiB,
    ],
    [
      'vmdk',
      '2 GiB streamOptimized',
      () => qemuImage('vmdk', '2G', ['-o', 'subformat=streamOptimized']),
      2 * GiB,
    ],
    ['vmdk', '100 GiB monolithicSparse', () => qemuImage('vmdk', '100G'), 100 * GiB],
  ];

  it.each(cases)('reads the virtual size of a %s image of %s', async (format, _name, make, expected) => {
    const image = make();
    expect(await inspect(format, image)).toBe(expected);
    // Where network reads happen to split the upload must not matter.
    expect(await inspect(format, image, 4093)).toBe(expected);
    expect(await inspect(format, image, 1024 * 1024)).toBe(expected);
  });

  it('reports the uploaded byte count for a qed image, as upstream does', async () => {
    const image = qemuImage('qed', '10G');
    expect(await inspect('qed', image)).toBe(image.length);
  });

  it('reports the byte count for raw data, and nothing for an empty raw upload', async () => {
    expect(await inspect('raw', randomBytes(100_001), 777)).toBe(100_001);
    expect(await inspect('raw', Buffer.alloc(0))).toBeNull();
  });

  it('gives no size for a VMDK descriptor file, which upstream does not support', async () => {
    const descriptor = qemuImage('vmdk', '10M', ['-o', 'subformat=monolithicFlat']);
    expect(descriptor.toString('latin1')).toContain('createType="monolithicFlat"');
    expect(await inspect('vmdk', descriptor)).toBeNull();
  });

  it('gives no size when the data is not the declared format', async () => {
    const qcow2 = qemuImage('qcow2', '1G');
    for (const format of ['vhd', 'vhdx', 'vmdk', 'vdi', 'qed'])
      expect(await inspect(format, qcow2)).toBeNull();
    expect(await inspect('qcow2', qemuImage('vdi', '1G'))).toBeNull();
  });

  it('gives no size for formats upstream does not inspect', async () => {
    expect(await inspect('iso', qemuImage('qcow2', '1G'))).toBeNull();
    expect(await inspect('ami', randomBytes(1000))).toBeNull();
  });

  it.each([
    ['qcow2', 'qcow2', '1G', 100],
    ['vdi', 'vdi', '1G', 511],
    ['vhd', 'vpc', '1G', 200],
    ['vhdx', 'vhdx', '1G', 300_000],
    ['vmdk', 'vmdk', '1G', 600],
  ])('gives no size for a truncated %s image', async (format, qemuFormat, size, keep) => {
    const image = qemuImage(qemuFormat, size);
    expect(await inspect(format, image.subarray(0, keep), 64)).toBeNull();
  });

  it.each(['qcow2', 'vhd', 'vhdx', 'vmdk', 'vdi', 'qed'])(
    'gives no size for garbage declared %s',
    async (format) => {
      expect(await inspect(format, randomBytes(3 * MiB))).toBeNull();
    },
  );

  it('gives no size for a VMDK whose descriptor lacks createType (upstream fails the upload there)', async () => {
    const image = qemuImage('vmdk', '1G');
    const text = image.toString('latin1');
    const at = text.indexOf('createType=');
    image.write('xreateType=', at, 'latin1');
    expect(await inspect('vmdk', image)).toBeNull();
  });

  it('gives no size for a VHDX whose region table claims too many entries', async () => {
    const image = qemuImage('vhdx', '1G');
    image.writeUInt32LE(4096, 192 * 1024 + 8);
    expect(await inspect('vhdx', image)).toBeNull();
  });

  it('gives no size it cannot represent exactly', async () => {
    const image = qemuImage('qcow2', '1G');
    image.writeBigUInt64BE(1n << 61n, 24);
    expect(await inspect('qcow2', image)).toBeNull();
  });
});
