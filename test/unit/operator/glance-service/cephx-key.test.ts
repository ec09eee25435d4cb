import { isCephxKey } from '../../../../operator/src/glance-service/sessions.js';

/** A key encoded the way `ceph-authtool --gen-key` writes one. */
function cephxKey(secretBytes: number, type = 1): string {
  const head = Buffer.alloc(12);
  head.writeUInt16LE(type, 0);
  head.writeUInt32LE(1_700_000_000, 2);
  head.writeUInt16LE(secretBytes, 10);
  return Buffer.concat([head, Buffer.alloc(secretBytes, 7)]).toString('base64');
}

describe('isCephxKey: what the operator accepts as the admin key before calling Ceph', () => {
  it('accepts an AES key as ceph-authtool writes it, and the example key of the Ceph documentation', () => {
    expect(isCephxKey(cephxKey(16))).toBe(true);
    expect(isCephxKey('AQD9o0Fd6hQRChAAt7fMaSZXduT3NWEqylNpmg==')).toBe(true);
  });
  it('refuses what the ceph CLI would fail to load as "Malformed input"', () => {
    expect(isCephxKey(Buffer.from('not a cephx key').toString('base64'))).toBe(false);
    expect(isCephxKey(cephxKey(16).slice(0, 20))).toBe(false);
    expect(isCephxKey(cephxKey(16, 2))).toBe(false);
    expect(isCephxKey(cephxKey(0))).toBe(false);
    expect(isCephxKey('CHANGE-ME')).toBe(false);
  });
});
