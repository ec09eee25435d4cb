import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { ThreadedDigest } from './hash-thread.js';
import { nodeHashName } from '../domain/hash-algorithms.js';

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

// With a second CPU, one digest runs on the process's hashing thread (hash-thread.ts), so an upload is bounded by
// the slower digest instead of their sum. md5 is the one sent there: OpenSSL has no hardware path for it and it is
// the slower of the two here (md5 665 MB/s, sha512 752, sha256 with SHA-NI faster still), and this thread also
// receives the socket and feeds the store. An earlier measurement found the offload slower on 2 CPUs; that was
// while the file store wrote through a FileHandle, which cost ~1 CPU-s per GiB more (file-store.ts).
const OFFLOAD_BY_DEFAULT = availableParallelism() > 1;

class Hasher extends Transform implements HashingStream {
  readonly #md5: Hash | null;
  readonly #threadedMd5: ThreadedDigest | null;
  readonly #osHash: Hash;
  readonly #osHashAlgo: string;
  #size = 0;
  #result: HashResult | null = null;

  constructor(osHashAlgo: string, nodeName: string, offload: boolean) {
    super();
    this.#osHashAlgo = osHashAlgo;
    this.#threadedMd5 = offload ? new ThreadedDigest('md5') : null;
    this.#md5 = offload ? null : createHash('md5');
    this.#osHash = createHash(nodeName);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#threadedMd5 === null) {
      this.#md5?.update(chunk);
      this.#osHash.update(chunk);
      callback(null, chunk);
      return;
    }
    // The copy for the thread is made first, so the thread hashes while this one does.
    this.#threadedMd5.update(chunk, (err) => {
      if (err) {
        callback(err);
        return;
      }
      this.#osHash.update(chunk);
      callback(null, chunk);
    });
  }

  override _flush(callback: TransformCallback): void {
    const finish = (md5: string): void => {
      this.#result = {
        md5,
        osHashAlgo: this.#osHashAlgo,
        osHashValue: this.#osHash.digest('hex'),
        size: this.#size,
      };
      callback();
    };
    if (this.#threadedMd5 === null) {
      finish(this.#md5?.digest('hex') ?? '');
      return;
    }
    this.#threadedMd5.digest((err, hex) => (err ? callback(err) : finish(hex ?? '')));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#result === null) this.#threadedMd5?.abort();
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
 * `offload` puts the md5 digest on the hashing thread; by default whenever there is more than one CPU.
 */
export function createHasher(algo = 'sha512', opts: { offload?: boolean } = {}): HashingStream {
  const nodeName = nodeHashName(algo);
  if (nodeName === null) throw new Error(`unsupported hashing algorithm: ${algo}`);
  return new Hasher(algo, nodeName, opts.offload ?? OFFLOAD_BY_DEFAULT);
}
