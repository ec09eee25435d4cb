import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { ThreadedDigest } from './hash-thread.js';
import { nodeHashName } from './hash-algorithms.js';

export interface HashResult {
  md5: string;
  osHashAlgo: string;
  osHashValue: string;
  size: number;
}

export interface HashingStream extends NodeJS.ReadWriteStream {
  /** Digests and byte count; only available once the stream has ended. */
  result(): HashResult;
}

// With a CPU to spare, md5 runs on this thread and the os_hash digest on the process's hashing thread
// (hash-thread.ts), so an upload is bounded by the slower digest instead of their sum (md5 604 MiB/s, sha512
// 502, both on one thread 274 on this project's machine). On 2 CPUs the bench measured the opposite: the client,
// this thread and the hashing thread then share two cores, and uploads ran at 161 MiB/s against 195 inline.
const OFFLOAD_BY_DEFAULT = availableParallelism() > 2;

class Hasher extends Transform implements HashingStream {
  readonly #md5: Hash = createHash('md5');
  readonly #osHash: Hash | null;
  readonly #threaded: ThreadedDigest | null;
  readonly #osHashAlgo: string;
  #size = 0;
  #result: HashResult | null = null;

  constructor(osHashAlgo: string, nodeName: string, offload: boolean) {
    super();
    this.#osHashAlgo = osHashAlgo;
    this.#threaded = offload ? new ThreadedDigest(nodeName) : null;
    this.#osHash = offload ? null : createHash(nodeName);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#md5.update(chunk);
    this.#size += chunk.length;
    if (this.#threaded === null) {
      this.#osHash?.update(chunk);
      callback(null, chunk);
      return;
    }
    this.#threaded.update(chunk, (err) => (err ? callback(err) : callback(null, chunk)));
  }

  override _flush(callback: TransformCallback): void {
    const finish = (osHashValue: string): void => {
      this.#result = {
        md5: this.#md5.digest('hex'),
        osHashAlgo: this.#osHashAlgo,
        osHashValue,
        size: this.#size,
      };
      callback();
    };
    if (this.#threaded === null) {
      finish(this.#osHash?.digest('hex') ?? '');
      return;
    }
    this.#threaded.digest((err, hex) => (err ? callback(err) : finish(hex ?? '')));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#result === null) this.#threaded?.abort();
    callback(err);
  }

  result(): HashResult {
    if (this.#result === null) throw new Error('hash result read before the data stream ended');
    return this.#result;
  }
}

/**
 * A pass-through computing upstream's `checksum` (md5), `os_hash_value` with `algo` (glance's
 * `hashing_algorithm`, hashlib naming) and `size` while bytes flow. Throws for an algorithm upstream could not use.
 * `offload` puts the os_hash digest on the hashing thread; by default only with more than 2 CPUs.
 */
export function createHasher(algo = 'sha512', opts: { offload?: boolean } = {}): HashingStream {
  const nodeName = nodeHashName(algo);
  if (nodeName === null) throw new Error(`unsupported hashing algorithm: ${algo}`);
  return new Hasher(algo, nodeName, opts.offload ?? OFFLOAD_BY_DEFAULT);
}
