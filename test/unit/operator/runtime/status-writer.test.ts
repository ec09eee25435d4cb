import type { KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { IMAGE } from '../../../../operator/src/api/image-types.js';
import { reconcileKey, type Reconcile } from '../../../../operator/src/runtime/controller.js';
import type { StoredObject } from '../../../../operator/src/runtime/kube-client.js';
import { ExponentialBackoff } from '../../../../operator/src/runtime/rate-limiter.js';
import { writeStatus } from '../../../../operator/src/runtime/status-writer.js';
import { WorkQueue } from '../../../../operator/src/runtime/work-queue.js';
import { NotLeaderError } from '../../../../operator/src/runtime/write-fence.js';
import { FakeKubeClient } from '../../../fakes/kube-client.js';

type Obj = KubernetesObject & { status?: { phase: string; note?: string } };

const log = pino({ level: 'silent' });
const ref = { apiVersion: 'glance.stackops.dev/v1alpha1', kind: 'Image', namespace: 'ns', name: 'img' };
const seeded = () =>
  new FakeKubeClient().seed({ ...ref, metadata: { name: 'img', namespace: 'ns' }, spec: { a: 1 } });
const read = (kube: FakeKubeClient) => kube.getCustom<Obj>(IMAGE, 'ns', 'img') as Promise<StoredObject<Obj>>;

describe('writeStatus', () => {
  it('does not overwrite a status written since the object was read: 409, nothing changed', async () => {
    const kube = seeded();
    const stale = await read(kube);
    // Another writer (the process that leads now) writes a newer status meanwhile.
    const current = await read(kube);
    await writeStatus(kube, IMAGE, current, { phase: 'Ready', note: 'newer' });

    await expect(writeStatus(kube, IMAGE, stale, { phase: 'Failed' })).rejects.toMatchObject({ code: 409 });
    expect(kube.get<Obj>(ref)?.status).toEqual({ phase: 'Ready', note: 'newer' });
  });

  it('writes nothing when the status holds that already, and chains writes of one pass', async () => {
    const kube = seeded();
    const obj = await read(kube);
    expect(await writeStatus(kube, IMAGE, obj, { phase: 'Pending' })).toBe(true);
    expect(await writeStatus(kube, IMAGE, obj, { phase: 'Pending' })).toBe(false);
    expect(await writeStatus(kube, IMAGE, obj, { phase: 'Ready' })).toBe(true);
    expect(kube.writes.map((w) => w.verb)).toEqual(['patch-status', 'patch-status']);
    expect(kube.get<Obj>(ref)?.status).toEqual({ phase: 'Ready' });
  });
});

describe('reconcileKey', () => {
  const queue = () => new WorkQueue(new ExponentialBackoff(5, 50));

  it('takes a stale status write as "read again and requeue", and the next pass writes from a fresh read', async () => {
    const kube = seeded();
    let passes = 0;
    const reconcile: Reconcile = async () => {
      passes++;
      const obj = await read(kube);
      if (passes === 1) {
        // Someone writes the object between this pass's read and its status write.
        kube.edit<Obj>(ref, (o) => (o.metadata.labels = { touched: 'yes' }));
      }
      await writeStatus(kube, IMAGE, obj, { phase: 'Ready', note: `pass ${passes}` });
      return {};
    };
    const q = queue();
    q.add('ns/img');
    const key = (await q.get())!;
    expect(await reconcileKey(q, key, reconcile, log)).toBe('conflict');
    q.done(key);
    expect(kube.get<Obj>(ref)).not.toHaveProperty('status');

    // Requeued (after a short backoff): the next pass reads afresh and its write goes through.
    expect(await q.get()).toBe('ns/img');
    expect(await reconcileKey(q, key, reconcile, log)).toBe('success');
    q.done(key);
    expect(kube.get<Obj>(ref)?.status).toEqual({ phase: 'Ready', note: 'pass 2' });
    expect(kube.get<Obj>(ref)?.metadata.labels).toEqual({ touched: 'yes' });
  });

  it('does not requeue a reconcile cut short because this process no longer leads', async () => {
    const q = queue();
    q.add('ns/img');
    const key = (await q.get())!;
    const reconcile: Reconcile = () => Promise.reject(new NotLeaderError('lease lost'));
    expect(await reconcileKey(q, key, reconcile, log)).toBe('not-leader');
    q.done(key);
    await new Promise((r) => setTimeout(r, 100));
    expect(q.length).toBe(0);
  });
});
