import { ChecksumMismatchError } from '../../../../operator/src/image/checksum.js';
import { imageSpec, World } from './world.js';

/** An Image Ready with its first image, then its source changed. */
async function changedSource(policy: 'Delete' | 'Orphan' = 'Delete') {
  const w = new World().apply(imageSpec({ deletionPolicy: policy }));
  await w.reconcileThroughTransfer();
  const served = w.status().imageID!;
  w.edit((o) => ((o.spec as { source: { url: string } }).source.url = 'http://images.test/cirros-0.6.img'));
  w.quiet();
  return { w, served };
}

describe('Image reconciler: a changed source', () => {
  it('uploads a replacement while the old image stays served, then swaps and deletes the old one', async () => {
    const { w, served } = await changedSource();
    const ended = w.transferEnd();
    await w.reconcile();
    const pending = w.status().pendingImageID!;
    expect(pending).toBeDefined();
    expect(w.status().imageID).toBe(served);
    expect(w.conditions()).toEqual(['Ready=False/TransferStarted', 'Reconciling=True/TransferStarted']);
    expect(w.events.reasons()).toEqual(['SourceChanged', 'Created']);
    expect(w.source.plans.at(-1)?.url).toBe('http://images.test/cirros-0.6.img');

    await ended;
    await w.reconcile();
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: pending });
    expect(w.status().pendingImageID).toBeUndefined();
    expect(w.status().retiredImageID).toBeUndefined();
    expect(w.glance.images.has(served)).toBe(false);
    expect(w.events.find('Replaced')?.note).toBe(`Image ${pending} replaces ${served}`);
    expect(w.events.find('Retired')?.note).toBe(`Deleted image ${served}, replaced by ${pending}`);
  });

  it('leaves the replaced image in Glance under deletionPolicy Orphan', async () => {
    const { w, served } = await changedSource('Orphan');
    await w.reconcileThroughTransfer();
    const now = w.status().imageID!;
    expect(now).not.toBe(served);
    expect(w.glance.images.has(served)).toBe(true);
    expect(w.events.find('Replaced')?.note).toBe(
      `Image ${now} replaces ${served}, which stays in Glance (deletionPolicy Orphan)`,
    );
    expect(w.events.find('Retired')).toBeUndefined();
  });

  it('keeps serving the old image when the replacement fails for good', async () => {
    const { w, served } = await changedSource();
    w.source.failNext(new ChecksumMismatchError('md5 of the source is not the declared one'));
    await w.reconcileThroughTransfer();
    expect(w.status().imageID).toBe(served);
    expect(w.glance.images.get(served)?.status).toBe('active');
    expect(w.conditions()).toEqual(['Ready=False/ChecksumMismatch', 'Stalled=True/ChecksumMismatch']);
  });

  it('deletes the unfinished replacement when the source goes back to what is served', async () => {
    const { w, served } = await changedSource();
    const held = w.source.holdNext();
    await w.reconcile();
    const pending = w.status().pendingImageID!;
    w.edit((o) => ((o.spec as { source: { url: string } }).source.url = 'http://images.test/cirros.img'));
    await w.reconcile();
    held.release();
    expect(w.glance.images.has(pending)).toBe(false);
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: served });
    expect(w.status().pendingImageID).toBeUndefined();
  });

  it('makes the replacement the image when the served one is deleted meanwhile', async () => {
    const { w, served } = await changedSource();
    const ended = w.transferEnd();
    await w.reconcile();
    const pending = w.status().pendingImageID!;
    await ended;
    w.glance.images.delete(served);
    await w.reconcile();
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: pending });
    expect(w.status().pendingImageID).toBeUndefined();
  });
});
