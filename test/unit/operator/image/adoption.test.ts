import { DATA, DATA_MD5, imageSpec, TIMINGS, World } from './world.js';

const activeImage = (w: World, name = 'cirros') => {
  const image = w.glance.put({ name, disk_format: 'raw' });
  w.glance.store(image.id, DATA);
  return image.id;
};

describe('Image reconciler: adoption', () => {
  it('adopts an active image by id and keeps its data', async () => {
    const w = new World();
    const id = activeImage(w);
    w.apply(imageSpec({ adopt: { imageID: id } }, { checksum: DATA_MD5 }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.resyncMs });
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: id, size: DATA.length });
    expect(w.events.reasons()).toEqual(['Adopted']);
    expect(w.glance.ops()).not.toContain('upload');
    expect(w.glance.ops()).not.toContain('create');
  });

  it('adopts the only image of its name and repairs its metadata', async () => {
    const w = new World();
    const id = activeImage(w);
    w.glance.edit(id, { visibility: 'public' });
    w.apply(imageSpec({ adopt: { byName: true } }));
    await w.reconcile();
    expect(w.status().imageID).toBe(id);
    expect(w.glance.images.get(id)?.visibility).toBe('private');
    expect(w.events.reasons()).toEqual(['Adopted', 'DriftRepaired']);
  });

  it('uploads into an adopted image that has no data yet', async () => {
    const w = new World();
    const queued = w.glance.put({ name: 'cirros' }).id;
    w.apply(imageSpec({ adopt: { imageID: queued } }));
    await w.reconcileThroughTransfer();
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: queued });
    expect(w.glance.calls).toContainEqual({ op: 'upload', id: queued });
  });

  it('stalls AdoptedImageMismatch when Glance recorded another digest than the declared one', async () => {
    const w = new World();
    const id = activeImage(w);
    w.apply(imageSpec({ adopt: { imageID: id } }, { checksum: `md5:${'0'.repeat(32)}` }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/AdoptedImageMismatch', 'Stalled=True/AdoptedImageMismatch']);
  });

  it('stalls AdoptionFailed when the image to adopt does not exist', async () => {
    const w = new World();
    const missing = '0b0e7e52-56b1-4c1a-9d2b-2b1c0c8d9e01';
    w.apply(imageSpec({ adopt: { imageID: missing } }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/AdoptionFailed', 'Stalled=True/AdoptionFailed']);
    expect(w.condition('Stalled')?.message).toBe(`image ${missing} to adopt does not exist`);
    expect(w.glance.writes()).toEqual([]);
  });

  it('stalls AdoptionFailed when several images have the name', async () => {
    const w = new World();
    activeImage(w);
    activeImage(w);
    w.apply(imageSpec({ adopt: { byName: true } }));
    await w.reconcile();
    expect(w.condition('Stalled')).toMatchObject({
      reason: 'AdoptionFailed',
      message: 'no single image named cirros to adopt',
    });
  });
});
