import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff } from '../../../../operator/src/runtime/rate-limiter.js';
import { WorkQueue } from '../../../../operator/src/runtime/work-queue.js';

const newQueue = (base = 10, max = 80) => new WorkQueue(new ExponentialBackoff(base, max));

describe('ExponentialBackoff', () => {
  it('doubles per consecutive failure of a key, up to the cap, and forget() starts over', () => {
    const b = new ExponentialBackoff(10, 50);
    expect([b.when('a'), b.when('a'), b.when('a'), b.when('a')]).toEqual([10, 20, 40, 50]);
    expect(b.when('other')).toBe(10);
    b.forget('a');
    expect(b.when('a')).toBe(10);
  });

  it('stays at the cap after many failures', () => {
    const b = new ExponentialBackoff(1000, 300_000);
    for (let i = 0; i < 2000; i++) b.when('k');
    expect(b.when('k')).toBe(300_000);
  });
});

describe('WorkQueue', () => {
  it('holds a key once however often it is added', async () => {
    const q = newQueue();
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
  });

  it('never hands a key to two workers, and re-queues a key added while it was being worked on', async () => {
    const q = newQueue();
    q.add('ns/a');
    const key = await q.get();
    q.add('ns/a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await sleep(5);
    expect(second).toBeUndefined();
    q.done(key as string);
    await sleep(0);
    expect(second).toBe('ns/a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = newQueue();
    const waiting = q.get();
    q.add('ns/late');
    await expect(waiting).resolves.toBe('ns/late');
  });

  it('delays addAfter, and of two delays for one key the earlier wins', async () => {
    const q = newQueue();
    q.addAfter('ns/a', 200);
    q.addAfter('ns/a', 20);
    expect(q.length).toBe(0);
    await sleep(60);
    expect(q.length).toBe(1);
    await q.get();
    await sleep(200);
    expect(q.length).toBe(0);
  });

  it('backs a failing key off exponentially until forget()', async () => {
    const q = newQueue(20, 1000);
    expect(q.addRateLimited('ns/a')).toBe(20);
    expect(q.addRateLimited('ns/a')).toBe(40);
    q.forget('ns/a');
    expect(q.addRateLimited('ns/a')).toBe(20);
    await sleep(50);
    expect(await q.get()).toBe('ns/a');
  });

  it('on shut down, wakes idle workers with undefined and waits for keys in flight', async () => {
    const q = newQueue();
    q.add('ns/a');
    const inFlight = await q.get();
    const idle = q.get();
    q.addAfter('ns/b', 10);
    let drained = false;
    const shutdown = q.shutDown().then(() => (drained = true));
    await expect(idle).resolves.toBeUndefined();
    await sleep(20);
    expect(drained).toBe(false);
    q.done(inFlight as string);
    await shutdown;
    expect(drained).toBe(true);
    q.add('ns/c');
    await expect(q.get()).resolves.toBeUndefined();
  });
});
