import { createHash } from 'node:crypto';
import {
  ChecksumMismatchError,
  DigestCheck,
  fileNameOf,
  findInChecksumFile,
  parseChecksum,
  storedDifferently,
} from '../../../../operator/src/image/checksum.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('checksum files', () => {
  const a = sha256('a');
  const b = sha256('b');

  it('finds the digest of the file name in GNU sha256sum output, text or binary mode', () => {
    const text = `${a}  cirros-0.6.2-aarch64-disk.img\n${b} *cirros-0.6.2-x86_64-disk.img\n`;
    expect(findInChecksumFile(text, 'cirros-0.6.2-x86_64-disk.img')).toEqual({ algorithm: 'sha256', hex: b });
    expect(findInChecksumFile(text, 'cirros-0.6.2-aarch64-disk.img')).toEqual({
      algorithm: 'sha256',
      hex: a,
    });
  });

  it('reads BSD-style lines and takes the algorithm from the digest length', () => {
    const text = `MD5 (one.img) = ${md5('x').toUpperCase()}\nSHA256 (two.img) = ${a}\n`;
    expect(findInChecksumFile(text, 'one.img')).toEqual({ algorithm: 'md5', hex: md5('x') });
    expect(findInChecksumFile(text, 'two.img')).toEqual({ algorithm: 'sha256', hex: a });
  });

  it('takes a file holding a single digest as the digest of any name', () => {
    expect(findInChecksumFile(`${a}\n`, 'whatever.img')).toEqual({ algorithm: 'sha256', hex: a });
  });

  it('finds nothing for a name it does not list, or a digest of no known length', () => {
    expect(findInChecksumFile(`${a}  one.img\n${b}  two.img\n`, 'three.img')).toBeUndefined();
    expect(findInChecksumFile('abcd  one.img\nabcd  two.img\n', 'one.img')).toBeUndefined();
  });

  it('names the file by the last segment of the URL path, decoded', () => {
    expect(fileNameOf('https://example.org/0.6.2/cirros%20disk.img?x=1')).toBe('cirros disk.img');
  });
});

describe('DigestCheck', () => {
  it('accepts the declared digest of the bytes, however they were split', () => {
    const check = new DigestCheck(parseChecksum(`sha256:${sha256('hello world')}`));
    check.update(Buffer.from('hello '));
    check.update(Buffer.from('world'));
    expect(check.verify()).toBe(`sha256:${sha256('hello world')}`);
  });

  it('throws ChecksumMismatchError naming both digests', () => {
    const check = new DigestCheck(parseChecksum(`md5:${md5('expected')}`));
    check.update(Buffer.from('actual'));
    expect(() => check.verify()).toThrow(ChecksumMismatchError);
  });
});

describe('storedDifferently', () => {
  const data = 'the image';
  const stored = {
    size: data.length,
    checksum: md5(data),
    os_hash_algo: 'sha512',
    os_hash_value: createHash('sha512').update(data).digest('hex'),
  };

  it('accepts what Glance recorded when it matches the length and the digest that is known', () => {
    expect(storedDifferently(stored, { bytes: data.length })).toBeUndefined();
    expect(
      storedDifferently(stored, { bytes: data.length, digest: parseChecksum(`md5:${md5(data)}`) }),
    ).toBeUndefined();
    expect(
      storedDifferently(stored, {
        bytes: data.length,
        digest: { algorithm: 'sha512', hex: stored.os_hash_value },
      }),
    ).toBeUndefined();
  });

  it('names a length or digest that differs', () => {
    expect(storedDifferently(stored, { bytes: data.length + 1 })).toMatch(/stored 9 bytes; 10 were sent/);
    expect(
      storedDifferently(stored, { bytes: data.length, digest: parseChecksum(`md5:${md5('other')}`) }),
    ).toMatch(/recorded md5/);
    expect(
      storedDifferently(
        { ...stored, os_hash_value: createHash('sha512').update('other').digest('hex') },
        { bytes: data.length, digest: { algorithm: 'sha512', hex: stored.os_hash_value } },
      ),
    ).toMatch(/recorded sha512/);
  });

  it('cannot compare a digest Glance did not compute', () => {
    expect(
      storedDifferently(stored, { bytes: data.length, digest: parseChecksum(`sha256:${sha256('other')}`) }),
    ).toBeUndefined();
  });
});
