import { StoreError } from '../../../../api-server/src/store/errors.js';
import {
  formatRbdLocation,
  parseRbdLocation,
  pyQuote,
  pyUnquote,
} from '../../../../api-server/src/store/rbd-location.js';

const FSID = 'fb29da44-9f8d-4570-8cfb-2ce1f0cf0ed2';
const ID = '0d5ea4c6-1b3c-4f4b-8d44-4c1bd6a1d0f1';

describe('rbd locations', () => {
  it('writes rbd://<fsid>/<pool>/<image>/<snapshot>, as glance_store does for a new image', () => {
    expect(formatRbdLocation({ fsid: FSID, pool: 'images', image: ID, snapshot: 'snap' })).toBe(
      `rbd://${FSID}/images/${ID}/snap`,
    );
  });

  it('percent-encodes each component like urllib.parse.quote(..., safe="")', () => {
    expect(pyQuote("a/b c!'()*~_.-é")).toBe('a%2Fb%20c%21%27%28%29%2A~_.-%C3%A9');
    expect(formatRbdLocation({ fsid: FSID, pool: 'my pool/x', image: ID, snapshot: 'snap' })).toBe(
      `rbd://${FSID}/my%20pool%2Fx/${ID}/snap`,
    );
  });

  it('reads back what it writes', () => {
    const loc = { fsid: FSID, pool: 'p/ö %', image: ID, snapshot: 's@1' };
    expect(parseRbdLocation(formatRbdLocation(loc))).toEqual(loc);
  });

  it('reads the legacy rbd://<image> form, without unquoting, and writes it back the same', () => {
    const loc = parseRbdLocation('rbd://some%20image');
    expect(loc).toEqual({ fsid: null, pool: null, image: 'some%20image', snapshot: null });
    expect(formatRbdLocation(loc)).toBe('rbd://some%20image');
  });

  it('unquotes like urllib.parse.unquote, keeping malformed escapes as written', () => {
    expect(pyUnquote('a%2Fb%zz%4')).toBe('a/b%zz%4');
    expect(pyUnquote('%C3%A9%C3')).toBe('é\uFFFD');
  });

  it.each([
    ['file:///var/lib/glance/images/x', 'Location URI must start with one of the following schemas: rbd://'],
    ['rbd://a/b', 'URI must have exactly 1 or 4 components'],
    ['rbd://a/b/c/d/e', 'URI must have exactly 1 or 4 components'],
    ['rbd://', 'URI cannot contain empty components'],
    [`rbd://${FSID}//${ID}/snap`, 'URI cannot contain empty components'],
  ])("refuses %s with BadStoreUri's reason", (uri, reason) => {
    let caught: unknown;
    try {
      parseRbdLocation(uri);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StoreError);
    expect(caught).toMatchObject({ kind: 'bad-location', message: reason });
  });
});
