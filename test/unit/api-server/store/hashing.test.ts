import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHasher, type HashResult } from '../../../../api-server/src/store/hashing.js';

const MILLION_A = Buffer.alloc(1_000_000, 'a');

async function hashChunks(
  chunks: Buffer[],
  algo: string | undefined,
  offload: boolean,
): Promise<{ result: HashResult; output: Buffer }> {
  const hasher = createHasher(algo, { offload });
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    hasher,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { result: hasher.result(), output: Buffer.concat(out) };
}

function split(data: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

describe.each([
  ['on the uploading thread', false],
  ['on the hashing thread', true],
])('createHasher, md5 computed %s', (_where, offload) => {
  const hash = (chunks: Buffer[], algo?: string): ReturnType<typeof hashChunks> =>
    hashChunks(chunks, algo, offload);

  it('hashes an empty upload like upstream (md5 + sha512 of nothing, size 0)', async () => {
    const { result } = await hash([]);
    expect(result).toEqual({
      md5: 'd41d8cd98f00b204e9800998ecf8427e',
      osHashAlgo: 'sha512',
      osHashValue:
        'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
      size: 0,
    });
  });

  it('defaults os_hash_algo to sha512 and passes the bytes through unchanged', async () => {
    const { result, output } = await hash([Buffer.from('abc')]);
    expect(result.md5).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(result.osHashAlgo).toBe('sha512');
    expect(result.osHashValue).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    expect(result.size).toBe(3);
    expect(output.toString()).toBe('abc');
  });

  it.each([
    ['one chunk', [1_000_000]],
    ['single bytes then odd sizes', [1, 1, 1, 7, 4093, 65536, 3]],
    ['64 KiB chunks', [65536]],
  ])('gives the same digests whatever the chunk boundaries (%s)', async (_name, sizes) => {
    const { result, output } = await hash(split(MILLION_A, sizes));
    expect(result.md5).toBe('7707d6ae4e027c70eea2a935c2296f21');
    expect(result.osHashValue).toBe(
      'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b',
    );
    expect(result.size).toBe(1_000_000);
    expect(output.equals(MILLION_A)).toBe(true);
  });

  it('agrees with one-shot digests over many MiB in uneven chunks (more than the hashing thread holds)', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 17);
    const { result, output } = await hash(split(data, [65536, 1, 3_000_000, 4093]));
    expect(result.md5).toBe(createHash('md5').update(data).digest('hex'));
    expect(result.osHashValue).toBe(createHash('sha512').update(data).digest('hex'));
    expect(result.size).toBe(data.length);
    expect(output.equals(data)).toBe(true);
  });

  it('keeps working for the uploads after one that failed half-way', async () => {
    const failing = new Readable({ read() {} });
    const done = pipeline(
      failing,
      createHasher(undefined, { offload }),
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    failing.push(randomBytes(3 * 1024 * 1024));
    failing.destroy(new Error('client went away'));
    await expect(done).rejects.toThrow('client went away');
    const { result } = await hash([Buffer.from('abc')]);
    expect(result.md5).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  it('uses the configured hashing_algorithm and reports its name as given', async () => {
    const { result } = await hash(split(MILLION_A, [333_333]), 'sha256');
    expect(result.osHashAlgo).toBe('sha256');
    expect(result.osHashValue).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
    expect(result.md5).toBe('7707d6ae4e027c70eea2a935c2296f21');
  });

  it.each([
    ['sha3_256', '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532'],
    ['sha512_256', '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23'],
    [
      'blake2b',
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    ],
    ['SHA1', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
  ])('accepts hashlib name %s and computes what hashlib computes', async (algo, digest) => {
    const { result } = await hash([Buffer.from('ab'), Buffer.from('c')], algo);
    expect(result.osHashAlgo).toBe(algo);
    expect(result.osHashValue).toBe(digest);
  });

  it.each(['shake_128', 'shake256', 'whirlpool', 'no-such-hash', ''])(
    'refuses %j, which upstream cannot produce an os_hash_value with',
    (algo) => {
      expect(() => createHasher(algo, { offload })).toThrow(/unsupported hashing algorithm/);
    },
  );

  it('has no result before the data has ended', () => {
    const hasher = createHasher(undefined, { offload });
    hasher.write(Buffer.from('partial'));
    expect(() => hasher.result()).toThrow(/before the data stream ended/);
  });

  it('stops pulling from the client while the store is not writing (memory stays bounded)', async () => {
    let produced = 0;
    const source = new Readable({
      read() {
        produced += 65536;
        this.push(Buffer.alloc(65536));
      },
    });
    const stalled = new Writable({ highWaterMark: 65536, write: () => undefined });
    source.pipe(createHasher(undefined, { offload })).pipe(stalled);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(produced).toBeLessThan(1024 * 1024);
    source.destroy();
  });
});
