import { IMAGE } from '../../../../operator/src/api/image-types.js';
import { addFinalizer, removeFinalizer } from '../../../../operator/src/runtime/finalizers.js';
import { isConflict } from '../../../../operator/src/runtime/kube-errors.js';
import { FakeKubeClient } from '../../../fakes/kube-client.js';

// The reconciler tests trust the fake to behave as the API server does where it matters to them.
const ref = { apiVersion: 'glance.stackops.dev/v1alpha1', kind: 'Image', namespace: 'ns', name: 'img' };
const image = () => ({ ...ref, metadata: { name: ref.name, namespace: ref.namespace }, spec: { a: 1 } });

describe('FakeKubeClient', () => {
  it('refuses a patch carrying a stale resourceVersion with 409', async () => {
    const kube = new FakeKubeClient().seed(image());
    const stale = kube.get(ref)!;
    await addFinalizer(kube, IMAGE, kube.get(ref)!, 'x/one');
    const err: unknown = await addFinalizer(kube, IMAGE, stale, 'x/two').catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
    expect(kube.get(ref)?.metadata.finalizers).toEqual(['x/one']);
  });

  it('refuses a status write at a stale resourceVersion with 409, as the API server does', async () => {
    const kube = new FakeKubeClient().seed(image());
    const stale = kube.get(ref)!.metadata.resourceVersion!;
    kube.edit(ref, (o) => Object.assign(o, { metadata: { ...o.metadata, labels: { x: 'y' } } }));
    const err: unknown = await kube
      .replaceCustomStatus(IMAGE, 'ns', 'img', stale, { phase: 'Ready' })
      .catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
    expect(kube.get(ref)).not.toHaveProperty('status');
  });

  it('only marks an object with finalizers deleted, and deletes it once the last one goes', async () => {
    const kube = new FakeKubeClient().seed(image());
    await addFinalizer(kube, IMAGE, kube.get(ref)!, 'x/one');
    await kube.delete(ref);
    const marked = kube.get(ref)!;
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    await removeFinalizer(kube, IMAGE, marked, 'x/one');
    expect(kube.get(ref)).toBeUndefined();
  });

  it('bumps the resourceVersion on a change only, the generation on a spec change only, and records every write', async () => {
    const kube = new FakeKubeClient().seed(image());
    const before = kube.get(ref)!;
    await kube.replaceCustomStatus(IMAGE, 'ns', 'img', before.metadata.resourceVersion!, { phase: 'Ready' });
    const after = kube.get(ref)!;
    expect(after.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    await kube.replaceCustomStatus(IMAGE, 'ns', 'img', after.metadata.resourceVersion!, { phase: 'Ready' });
    expect(kube.get(ref)?.metadata.resourceVersion).toBe(after.metadata.resourceVersion);
    kube.edit(ref, (o) => Object.assign(o, { spec: { a: 2 } }));
    expect(kube.get(ref)?.metadata.generation).toBe((before.metadata.generation ?? 0) + 1);
    expect(kube.writes.map((w) => w.verb)).toEqual(['patch-status', 'patch-status']);
  });
});
