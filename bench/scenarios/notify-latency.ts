import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { stackValue } from '../../test/harness/stack-env.js';
import { GlanceClient } from '../glance.js';
import { answering, rbdConfig, spawnInstance, stopInstance, type Instance } from '../rbd-servers.js';
import {
  measurement,
  ratio,
  type BenchContext,
  type RunnableScenario,
  type ScenarioOutcome,
} from '../scenario.js';
import { percentile } from '../stats.js';
import { TARGETS } from '../targets.js';

const DATA = Buffer.alloc(4096, 7);

/** One image's life as notifications see it: image.create, the upload's five events, image.delete. */
async function imageLife(client: GlanceClient): Promise<number> {
  const start = performance.now();
  const id = await client.createImage('bench-notify');
  await client.upload(id, Readable.from([DATA]), DATA.length);
  await client.deleteImage(id);
  return performance.now() - start;
}

async function lives(ctx: BenchContext, client: GlanceClient): Promise<number> {
  const times: number[] = [];
  // Two warm-up lives: the first connects to the broker and loads the routes.
  for (let n = 0; n < ctx.sizes.notifyCycles + 2; n++) {
    const ms = await imageLife(client);
    if (n >= 2) times.push(ms);
  }
  return percentile(times, 50);
}

export const notifyLatency: RunnableScenario = {
  kind: 'runnable',
  id: 'notify-latency',
  title: (ctx) =>
    `create + upload 4 KiB + delete, ${ctx.sizes.notifyCycles} times: ours with notifications to RabbitMQ vs off`,
  async run(ctx): Promise<ScenarioOutcome> {
    const dir = await mkdtemp(path.join(ctx.workdir, 'notify-servers-'));
    const started: Instance[] = [];
    const stop = ctx.cleanups.add('the notify-latency servers', async () => {
      await Promise.all(started.map(stopInstance));
      await rm(dir, { recursive: true, force: true });
    });
    try {
      const command = [stackValue('API_NODE'), '--enable-source-maps', stackValue('API_MAIN')];
      // The stack's configuration publishes as the install guide says; "off" is the same with driver = noop.
      const configure =
        (driver: string) =>
        (conf: string, port: number, own: string): string =>
          rbdConfig(conf, port, own, { oslo_messaging_notifications: { driver } }, false);
      const on = await spawnInstance(
        'ours',
        command,
        stackValue('API_CONF'),
        dir,
        configure('messagingv2'),
        'notify-on',
      );
      started.push(on);
      const off = await spawnInstance(
        'ours',
        command,
        stackValue('API_CONF'),
        dir,
        configure('noop'),
        'notify-off',
      );
      started.push(off);
      await Promise.all([answering(on), answering(off)]);
      const token = () => adminTokenFromStack();
      const samples = { on: [] as number[], off: [] as number[] };
      for (let rep = 0; rep < ctx.repetitions; rep++) {
        const order = rep % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
        for (const which of order) {
          const instance = which === 'on' ? on : off;
          samples[which].push(await lives(ctx, new GlanceClient(instance.server, token)));
        }
        ctx.progress(`notify-latency: repetition ${rep + 1}/${ctx.repetitions} done`);
      }
      const onM = measurement('notify-on', 'ours, notifications on (p50 per life)', 'ms', samples.on);
      const offM = measurement('notify-off', 'ours, notifications off (p50 per life)', 'ms', samples.off);
      return {
        measurements: [onM, offM],
        checks: [ratio('on ÷ off', onM, offM, TARGETS.notifyOnVsOff)],
        notes: [
          'two private instances of ours with the stack configuration (file store, 2 workers each as the stack ' +
            'sets), one publishing to the stack RabbitMQ (messagingv2, 7 messages per life), one with driver = ' +
            'noop; lives timed sequentially, alternating which instance goes first',
        ],
      };
    } finally {
      await stop();
    }
  },
};
