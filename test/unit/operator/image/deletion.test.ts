import { IMAGE_FINALIZER } from '../../../../operator/src/image/names.js';
import { glanceError } from '../../../fakes/glance-images.js';
import { IMAGE_REF, imageSpec, TIMINGS, World } from './world.js';

async function readyThenDeleted(spec = imageSpec()) {
  const w = new World().apply(spec);
  await w.reconcileThroughTransfer();
  const id = w.status().imageID!;
  await w.kube.delete(IMAGE_REF);
  w.quiet();
  return { w, id };
}

describe('Image reconciler: deletion', () => {
  it('deletes the Glance image under deletionPolicy Delete, then lets the Image go', async () => {
    const { w, id } = await readyThenDeleted();
    expect(await w.reconcile()).toEqual({});
    expect(w.glance.images.has(id)).toBe(false);
    expect(w.events.events).toEqual([
      expect.objectContaining({
        reason: 'Deleted',
        action: 'Delete',
        note: `Deleted image ${id} (deletionPolicy Delete)`,
      }),
    ]);
    expect(w.object()).toBeUndefined();
  });

  it('unprotects a protected image before deleting it', async () => {
    const { w, id } = await readyThenDeleted(imageSpec({ protected: true }));
    await w.reconcile();
    expect(w.glance.ops()).toEqual(['get', 'patch', 'remove']);
    expect(w.glance.images.has(id)).toBe(false);
  });

  it('leaves the image in Glance under deletionPolicy Orphan', async () => {
    const { w, id } = await readyThenDeleted(imageSpec({ deletionPolicy: 'Orphan' }));
    await w.reconcile();
    expect(w.glance.images.has(id)).toBe(true);
    expect(w.glance.writes()).toEqual([]);
    expect(w.events.find('Orphaned')?.note).toBe(`Left image ${id} in Glance (deletionPolicy Orphan)`);
    expect(w.object()).toBeUndefined();
  });

  it('blocks on credentials that no longer work, until deletionPolicy Orphan lets go', async () => {
    const { w, id } = await readyThenDeleted();
    await w.kube.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 'cloud-credentials' });
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.status().phase).toBe('Deleting');
    expect(w.conditions()).toEqual(['Ready=False/CleanupBlocked', 'Stalled=True/CleanupBlocked']);
    expect(w.condition('Stalled')?.message).toMatch(
      /^Secret ns\/cloud-credentials does not exist; the operator gives up and leaves it at \d{4}-\d\d-\d\dT[\d:]+Z \(set deletionPolicy: Orphan to let go of the image\)$/,
    );
    expect(w.object()?.metadata.finalizers).toEqual([IMAGE_FINALIZER]);

    w.edit((o) => ((o.spec as { deletionPolicy: string }).deletionPolicy = 'Orphan'));
    await w.reconcile();
    expect(w.object()).toBeUndefined();
    expect(w.glance.images.has(id)).toBe(true);
  });

  it('lets go with a Warning at the deadline when the credentials still do not work', async () => {
    const { w, id } = await readyThenDeleted();
    await w.kube.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 'cloud-credentials' });
    await w.reconcile();
    w.pastDeletionDeadline();
    expect(await w.reconcile()).toEqual({});
    expect(w.object()).toBeUndefined();
    expect(w.events.find('CleanupAbandoned')).toMatchObject({
      type: 'Warning',
      note: `Glance image ${id} was left: Secret ns/cloud-credentials does not exist (the deletion timed out)`,
    });
  });

  it('lets go at once, with a Warning, when its namespace is being deleted and its Secret is gone', async () => {
    const { w, id } = await readyThenDeleted();
    await w.kube.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 'cloud-credentials' });
    w.namespaceGoing();
    expect(await w.reconcile()).toEqual({});
    expect(w.object()).toBeUndefined();
    expect(w.glance.images.has(id)).toBe(true);
    expect(w.events.find('CleanupAbandoned')?.note).toBe(
      `Glance image ${id} was left: Secret ns/cloud-credentials does not exist (its namespace is being deleted)`,
    );
  });

  it('lets go at once, with a Warning, when the GlanceService it names is gone', async () => {
    const { w, id } = await readyThenDeleted();
    w.edit((o) => {
      const spec = o.spec as Record<string, unknown>;
      delete spec.cloud;
      spec.glanceServiceRef = { name: 'images' };
    });
    expect(await w.reconcile()).toEqual({});
    expect(w.object()).toBeUndefined();
    expect(w.events.find('CleanupAbandoned')).toMatchObject({
      type: 'Warning',
      note: `Glance image ${id} was left: GlanceService ns/images is gone, and its Keystone user with it`,
    });
  });

  it('lets go with a Warning when Glance is still unavailable at the deadline', async () => {
    const { w, id } = await readyThenDeleted();
    w.glance.failNext('get', glanceError(503, 'Glance GET: HTTP 503'));
    await expect(w.reconcile()).rejects.toThrow('HTTP 503');
    w.pastDeletionDeadline();
    w.glance.failNext('get', glanceError(503, 'Glance GET: HTTP 503'));
    expect(await w.reconcile()).toEqual({});
    expect(w.object()).toBeUndefined();
    expect(w.events.find('CleanupAbandoned')?.note).toBe(
      `Glance image ${id} was left: Glance GET: HTTP 503 (the deletion timed out)`,
    );
  });

  it('keeps the finalizer and retries when Glance is unavailable', async () => {
    const { w } = await readyThenDeleted();
    w.glance.failNext('get', glanceError(503, 'Glance GET: HTTP 503'));
    await expect(w.reconcile()).rejects.toThrow('HTTP 503');
    expect(w.conditions()).toEqual(['Ready=False/Deleting', 'Reconciling=True/Deleting']);
    expect(w.object()?.metadata.finalizers).toEqual([IMAGE_FINALIZER]);
    await w.reconcile();
    expect(w.object()).toBeUndefined();
  });

  it('lets an Image go that never got a finalizer, touching nothing', async () => {
    const w = new World().apply(imageSpec(), { finalizers: ['someone.else/keep'] });
    await w.kube.delete(IMAGE_REF);
    w.quiet();
    expect(await w.reconcile()).toEqual({});
    expect(w.kube.writes).toEqual([]);
    expect(w.glance.calls).toEqual([]);
  });

  it('stops a running transfer of a deleted Image', async () => {
    const w = new World().apply(imageSpec());
    const held = w.source.holdNext();
    await w.reconcile();
    const transfer = w.transfers.get(w.object()!.metadata.uid)!;
    await w.kube.delete(IMAGE_REF);
    await w.reconcile();
    expect(transfer.abort.signal.aborted).toBe(true);
    expect(w.object()).toBeUndefined();
    held.release();
  });
});
