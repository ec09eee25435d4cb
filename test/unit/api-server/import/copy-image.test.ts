import { copyTargets } from '../../../../api-server/src/import/copy-image.js';
import { errorText, httpError, image } from '../domain/helpers.js';

const held = image({
  status: 'active',
  locations: [
    { id: 1, url: 'file:///images/x', metadata: { store: 'fast' }, status: 'active' },
    { id: 2, url: 'rbd://fsid/images/x/snap', metadata: { store: 'ceph' }, status: 'deleted' },
  ],
});

describe('copyTargets', () => {
  it('drops the stores already holding the image from all_stores', () => {
    expect(copyTargets(held, ['fast', 'ceph', 'cold'], true)).toEqual(['ceph', 'cold']);
    expect(copyTargets(held, ['fast'], true)).toEqual([]);
  });

  it('refuses a named store that already holds the image', () => {
    const err = httpError(() => copyTargets(held, ['ceph', 'fast'], false));
    expect(err.status).toBe(400);
    expect(errorText(err)).toBe("Image is already present at store 'fast'");
  });

  it('copies to named stores the image is not in (a deleted location does not count)', () => {
    expect(copyTargets(held, ['ceph'], false)).toEqual(['ceph']);
  });
});
