import { dueForPrefetch, imagesToPrune, type CachedImage } from '../../../../api-server/src/cache/lru.js';

const image = (id: string, size: number, lastAccessed: number): CachedImage => ({
  image_id: id,
  hits: 0,
  last_accessed: lastAccessed,
  last_modified: 0,
  size,
});

describe('imagesToPrune', () => {
  const images = [image('c', 30, 300), image('a', 10, 100), image('b', 20, 200)];

  it('removes nothing while the cache fits, including exactly at the limit', () => {
    expect(imagesToPrune(images, 60, 100)).toEqual([]);
    expect(imagesToPrune(images, 60, 60)).toEqual([]);
  });

  it('removes least recently accessed images first until the total fits', () => {
    expect(imagesToPrune(images, 60, 45).map((i) => i.image_id)).toEqual(['a', 'b']);
    expect(imagesToPrune(images, 60, 50).map((i) => i.image_id)).toEqual(['a']);
  });

  it('counts bytes that belong to no listed image in the total, as upstream sums the directory', () => {
    expect(imagesToPrune(images, 100, 50).map((i) => i.image_id)).toEqual(['a', 'b', 'c']);
  });

  it('breaks ties of access time by image id', () => {
    const tied = [image('y', 10, 5), image('x', 10, 5)];
    expect(imagesToPrune(tied, 20, 10).map((i) => i.image_id)).toEqual(['x']);
  });
});

describe('dueForPrefetch', () => {
  const queued = [
    { id: 'old', queuedAt: 1_000 },
    { id: 'edge', queuedAt: 5_000 },
    { id: 'new', queuedAt: 9_000 },
  ];

  it('takes only images queued at least one interval ago, in queue order', () => {
    expect(dueForPrefetch(queued, 10_000, 5_000)).toEqual(['old', 'edge']);
    expect(dueForPrefetch(queued, 10_000, 20_000)).toEqual([]);
  });
});
