import { createHash, type Hash } from 'node:crypto';
import path from 'node:path';
import { TerminalError } from '../runtime/errors.js';

export type DigestAlgorithm = 'md5' | 'sha256' | 'sha512';

export interface ExpectedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** The digest did not match: the source is not what was declared, and fetching it again will not help. */
export class ChecksumMismatchError extends TerminalError {
  override readonly name = 'ChecksumMismatchError';
  constructor(message: string) {
    super('ChecksumMismatch', message);
  }
}

const BY_LENGTH: Record<number, DigestAlgorithm> = { 32: 'md5', 64: 'sha256', 128: 'sha512' };

/** `sha256:<hex>` (already validated by the spec schema). */
export function parseChecksum(value: string): ExpectedDigest {
  const [algorithm, hex] = value.split(':') as [DigestAlgorithm, string];
  return { algorithm, hex };
}

/**
 * The digest a checksum file gives for `fileName`: GNU lines (`<hex>  name`, `<hex> *name`), BSD lines
 * (`SHA256 (name) = <hex>`), or a file holding one bare digest. The algorithm follows the digest's length.
 */
export function findInChecksumFile(text: string, fileName: string): ExpectedDigest | undefined {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
  const digest = (hex: string | undefined) => {
    const lower = hex?.toLowerCase();
    const algorithm = lower ? BY_LENGTH[lower.length] : undefined;
    return lower && algorithm && /^[0-9a-f]+$/.test(lower) ? { algorithm, hex: lower } : undefined;
  };
  for (const line of lines) {
    const gnu = /^([0-9a-fA-F]+)\s+\*?(.+?)\s*$/.exec(line);
    if (gnu && path.posix.basename(gnu[2] ?? '') === fileName) return digest(gnu[1]);
    const bsd = /^\w+\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*$/.exec(line);
    if (bsd && path.posix.basename(bsd[1] ?? '') === fileName) return digest(bsd[2]);
  }
  if (lines.length === 1) return digest(lines[0]?.trim().split(/\s+/)[0]);
  return undefined;
}

/** The last path segment of a URL, decoded: the name a checksum file lists. */
export function fileNameOf(url: string): string {
  return decodeURIComponent(path.posix.basename(new URL(url).pathname));
}

/** A running digest over the source's bytes; survives reconnections because it only sees bytes kept. */
export class DigestCheck {
  private readonly hash: Hash;
  constructor(readonly expected: ExpectedDigest) {
    this.hash = createHash(expected.algorithm);
  }

  update(chunk: Buffer): void {
    this.hash.update(chunk);
  }

  /** Throws ChecksumMismatchError unless the bytes seen have the expected digest. */
  verify(): string {
    const actual = this.hash.digest('hex');
    const { algorithm, hex } = this.expected;
    if (actual !== hex) {
      throw new ChecksumMismatchError(`${algorithm} of the source is ${actual}, expected ${hex}`);
    }
    return `${algorithm}:${actual}`;
  }
}

/** What Glance reports about the data it stored. */
export interface StoredData {
  size: number | null;
  checksum: string | null;
  os_hash_algo?: string | null;
  os_hash_value?: string | null;
}

/** The digest Glance recorded in `digest`'s algorithm (md5 is `checksum`), or null when it computed another. */
export function recordedDigest(stored: StoredData, digest: ExpectedDigest): string | null {
  if (digest.algorithm === 'md5') return stored.checksum;
  return stored.os_hash_algo === digest.algorithm ? (stored.os_hash_value ?? null) : null;
}

/**
 * Why Glance's record of an upload disagrees with what was sent, or undefined when it agrees: the length always,
 * and the digest when one of the sent bytes is known and Glance computed the same algorithm.
 */
export function storedDifferently(
  stored: StoredData,
  sent: { bytes: number; digest?: ExpectedDigest },
): string | undefined {
  if (stored.size !== sent.bytes) return `Glance stored ${stored.size} bytes; ${sent.bytes} were sent`;
  if (!sent.digest) return undefined;
  const recorded = recordedDigest(stored, sent.digest);
  if (recorded && recorded !== sent.digest.hex) {
    return `Glance recorded ${sent.digest.algorithm} ${recorded} for the upload; the data sent has ${sent.digest.hex}`;
  }
  return undefined;
}
