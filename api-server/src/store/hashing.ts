import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
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

// Both digests run on this thread. bench/hash/ measured sha512 on a worker_thread: it only wins while another
// core is idle, and its copies and messages cost ~15% more CPU per byte, a loss once cluster workers fill the cores.
class Hasher extends Transform implements HashingStream {
  readonly #md5: Hash = createHash('md5');
  readonly #osHash: Hash;
  readonly #osHashAlgo: string;
  #size = 0;
  #result: HashResult | null = null;

  constructor(osHashAlgo: string, nodeName: string) {
    super();
    this.#osHashAlgo = osHashAlgo;
    this.#osHash = createHash(nodeName);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#md5.update(chunk);
    this.#osHash.update(chunk);
    this.#size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#result = {
      md5: this.#md5.digest('hex'),
      osHashAlgo: this.#osHashAlgo,
      osHashValue: this.#osHash.digest('hex'),
      size: this.#size,
    };
    callback();
  }

  result(): HashResult {
    if (this.#result === null) throw new Error('hash result read before the data stream ended');
    return this.#result;
  }
}

/**
 * A pass-through computing upstream's `checksum` (md5), `os_hash_value` with `algo` (glance's
 * `hashing_algorithm`, hashlib naming) and `size` while bytes flow. Throws for an algorithm upstream could not use.
 */
export function createHasher(algo = 'sha512'): HashingStream {
  const nodeName = nodeHashName(algo);
  if (nodeName === null) throw new Error(`unsupported hashing algorithm: ${algo}`);
  return new Hasher(algo, nodeName);
}
