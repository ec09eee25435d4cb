import { TransferManager } from '../../../../operator/src/image/transfer-manager.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('TransferManager', () => {
  it('runs at most `limit` transfers at once and starts a waiting one when a slot frees', async () => {
    const manager = new TransferManager(1);
    const release: Array<() => void> = [];
    const run = () =>
      new Promise<{ uploaded: { bytes: number } }>((resolve) =>
        release.push(() => resolve({ uploaded: { bytes: 1 } })),
      );
    const a = manager.start('a', 't', run);
    const b = manager.start('b', 't', run);
    await tick();
    expect([a.state.kind, b.state.kind]).toEqual(['running', 'waiting']);
    release.shift()?.();
    await tick();
    await tick();
    expect([a.state.kind, b.state.kind]).toEqual(['done', 'running']);
    expect(manager.active).toBe(1);
  });

  it('lets a waiting transfer be cancelled without taking a slot', async () => {
    const manager = new TransferManager(1);
    manager.start('a', 't', () => new Promise(() => undefined));
    const b = manager.start('b', 't', () => Promise.reject(new Error('must not run')));
    manager.cancel('b');
    await tick();
    expect(b.state.kind).toBe('failed');
    expect(manager.get('b')).toBeUndefined();
    expect(manager.active).toBe(1);
  });
});

describe('TransferManager: the end of a transfer', () => {
  it('is reported once the outcome is readable, whether it succeeded or failed', async () => {
    const manager = new TransferManager(2);
    const seen: string[] = [];
    manager.start(
      'ok',
      't',
      () => Promise.resolve({ uploaded: { bytes: 1 } }),
      () => seen.push(`ok:${manager.get('ok')?.state.kind}`),
    );
    manager.start(
      'bad',
      't',
      () => Promise.reject(new Error('source gone')),
      () => seen.push(`bad:${manager.get('bad')?.state.kind}`),
    );
    await tick();
    await tick();
    expect(seen.sort()).toEqual(['bad:failed', 'ok:done']);
  });

  it('is not reported for a cancelled transfer', async () => {
    const manager = new TransferManager(1);
    let reported = 0;
    manager.start(
      'a',
      't',
      (_progress, signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
      () => reported++,
    );
    await tick();
    manager.cancel('a');
    await tick();
    await tick();
    expect(reported).toBe(0);
  });
});
