import { randomBytes } from 'node:crypto';
import { IMAGE_MARK_PROPERTY } from '../../../../operator/src/api/image-types.js';
import { DATA, DATA_MD5, IMAGE_REF, imageSpec, TIMINGS, World } from './world.js';

const statusLost = (w: World) =>
  w.edit((o) => {
    delete o.status;
  });

/** An image the operator made for this Image, in the state a crash or a replacement left it. */
function markedImage(w: World, data?: Buffer, fields: Record<string, unknown> = {}): string {
  const uid = w.object()!.metadata.uid;
  const id = w.glance.put({ name: 'cirros', [IMAGE_MARK_PROPERTY]: uid, ...fields }).id;
  if (data) w.glance.store(id, data);
  return id;
}

async function deleted(w: World): Promise<void> {
  await w.kube.delete(IMAGE_REF);
  w.quiet();
  await w.reconcile();
  expect(w.object()).toBeUndefined();
}

describe('Image reconciler: the mark on the images it creates', () => {
  it("creates the image marked with the Image's uid, in the create request itself", async () => {
    const w = new World().apply(imageSpec());
    await w.reconcileThroughTransfer();
    const create = w.glance.calls.find((c) => c.op === 'create');
    expect(create?.body).toMatchObject({ [IMAGE_MARK_PROPERTY]: w.object()!.metadata.uid });
    expect(w.glance.images.get(w.status().imageID!)?.[IMAGE_MARK_PROPERTY]).toBe(w.object()!.metadata.uid);
  });

  it('keeps the mark through the drift repair, which removes other properties added by hand', async () => {
    const w = new World().apply(imageSpec());
    await w.reconcileThroughTransfer();
    const id = w.status().imageID!;
    w.glance.edit(id, { added_by_hand: 'x' });
    await w.reconcile();
    expect(w.glance.images.get(id)).not.toHaveProperty('added_by_hand');
    expect(w.glance.images.get(id)?.[IMAGE_MARK_PROPERTY]).toBe(w.object()!.metadata.uid);
  });
});

describe('Image reconciler: a lost status', () => {
  it('finds the Ready image by its mark and uploads nothing', async () => {
    const w = new World().apply(imageSpec({}, { checksum: DATA_MD5 }));
    await w.reconcileThroughTransfer();
    const id = w.status().imageID!;
    statusLost(w);
    w.quiet();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.resyncMs });
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: id, size: DATA.length });
    expect(w.glance.images.size).toBe(1);
    expect(w.glance.writes()).toEqual([]);
    expect(w.source.plans).toHaveLength(1);
    expect(w.events.find('Found')?.note).toBe(
      `Found image ${id} marked as this Image's; the status named none`,
    );
  });

  it('uploads into a marked image found without data, instead of creating a second one', async () => {
    const w = new World().apply(imageSpec());
    const queued = markedImage(w);
    await w.reconcileThroughTransfer();
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: queued });
    expect(w.glance.ops()).not.toContain('create');
    expect(w.glance.images.size).toBe(1);
  });

  it('serves the newest active one of several, and cleans up the rest as its replacement would have', async () => {
    const w = new World().apply(imageSpec({}, { checksum: DATA_MD5 }));
    const older = markedImage(w, DATA);
    const newer = markedImage(w, DATA);
    const unfinished = markedImage(w);
    await w.reconcile();
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: newer });
    expect(w.status().pendingImageID).toBeUndefined();
    expect(w.status().retiredImageID).toBeUndefined();
    expect([...w.glance.images.keys()]).toEqual([newer]);
    expect(w.glance.ops()).not.toContain('create');
    expect(w.events.find('Found')?.note).toBe(
      `Found image ${newer} marked as this Image's; the status named none ` +
        `(also replacement ${unfinished}; replaced ${older})`,
    );
  });

  it('serves the active one whose data is not the declared one while the unfinished replacement is uploaded', async () => {
    const w = new World().apply(imageSpec({}, { checksum: DATA_MD5 }));
    const old = markedImage(w, randomBytes(100));
    const unfinished = markedImage(w);
    await w.reconcileThroughTransfer();
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: unfinished, size: DATA.length });
    expect(w.glance.images.has(old)).toBe(false);
    expect(w.glance.ops()).not.toContain('create');
    expect(w.events.reasons()).toEqual(expect.arrayContaining(['Found', 'Replaced', 'Retired']));
  });

  it('does not take an image marked with another uid', async () => {
    const w = new World().apply(imageSpec());
    const other = w.glance.put({ name: 'cirros', [IMAGE_MARK_PROPERTY]: 'another-image-uid' }).id;
    await w.reconcileThroughTransfer();
    expect(w.status().imageID).not.toBe(other);
    expect(w.glance.images.size).toBe(2);
    expect(w.events.find('Found')).toBeUndefined();
  });
});

describe('Image reconciler: which images deletion removes', () => {
  it('leaves an adopted image in Glance by default (Orphan)', async () => {
    const w = new World();
    const id = w.glance.put({ name: 'cirros' }).id;
    w.glance.store(id, DATA);
    w.apply(imageSpec({ adopt: { imageID: id } }));
    await w.reconcile();
    expect(w.status()).toMatchObject({ phase: 'Ready', imageID: id });
    await deleted(w);
    expect(w.glance.images.has(id)).toBe(true);
    expect(w.glance.writes()).toEqual([]);
    expect(w.events.find('Orphaned')?.note).toBe(
      `Left image ${id} in Glance (deletionPolicy Orphan, the default of an Image that adopts)`,
    );
  });

  it('deletes an adopted image when deletionPolicy Delete is set explicitly', async () => {
    const w = new World();
    const id = w.glance.put({ name: 'cirros' }).id;
    w.glance.store(id, DATA);
    w.apply(imageSpec({ adopt: { byName: true }, deletionPolicy: 'Delete' }));
    await w.reconcile();
    expect(w.status().imageID).toBe(id);
    await deleted(w);
    expect(w.glance.images.has(id)).toBe(false);
    expect(w.events.find('Deleted')?.note).toBe(`Deleted image ${id} (deletionPolicy Delete)`);
  });

  it('never deletes an image without its mark, even when its status names it', async () => {
    const w = new World().apply(imageSpec());
    await w.reconcileThroughTransfer();
    const own = w.status().imageID!;
    const unmarked = w.glance.put({ name: 'someone-elses' }).id;
    const otherMark = w.glance.put({ name: 'another-images', [IMAGE_MARK_PROPERTY]: 'another-uid' }).id;
    // Whoever may write the status subresource points it at images the operator did not create.
    w.edit((o) => {
      o.status = { ...o.status, pendingImageID: unmarked, retiredImageID: otherMark };
    });
    await deleted(w);
    expect(w.glance.images.has(own)).toBe(false);
    expect(w.glance.images.has(unmarked)).toBe(true);
    expect(w.glance.images.has(otherMark)).toBe(true);
    expect(w.glance.writes()).toEqual([{ op: 'remove', id: own }]);
    expect(w.events.events.filter((e) => e.reason === 'NotOwned').map((e) => e.note)).toEqual([
      expect.stringContaining(`Left image ${unmarked} in Glance: it does not carry this Image's mark`),
      expect.stringContaining(`Left image ${otherMark} in Glance`),
    ]);
  });

  it('does not delete an adopted image under an explicit Delete when it is not the one adopt names', async () => {
    const w = new World();
    const adopted = w.glance.put({ name: 'cirros' }).id;
    w.glance.store(adopted, DATA);
    w.apply(imageSpec({ adopt: { imageID: adopted }, deletionPolicy: 'Delete' }));
    await w.reconcile();
    const other = w.glance.put({ name: 'other' }).id;
    w.edit((o) => {
      o.status = { ...o.status, retiredImageID: other };
    });
    await deleted(w);
    expect(w.glance.images.has(adopted)).toBe(false);
    expect(w.glance.images.has(other)).toBe(true);
  });
});
