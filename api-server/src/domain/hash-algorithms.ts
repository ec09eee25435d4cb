import { createHash } from 'node:crypto';

// hashlib spells these differently from OpenSSL, whose names (any case) hashlib.new() also accepts.
const HASHLIB_NAMES: Readonly<Record<string, string>> = {
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
};

/**
 * The Node crypto name for a `hashing_algorithm` value, or null when upstream could not hash with it either: SHAKE
 * is refused because hashlib's hexdigest() needs an output length glance never passes, so every upload would fail.
 */
export function nodeHashName(hashingAlgorithm: string): string | null {
  const name = HASHLIB_NAMES[hashingAlgorithm] ?? hashingAlgorithm;
  if (/^shake/i.test(name)) return null;
  try {
    createHash(name);
    return name;
  } catch {
    return null;
  }
}
