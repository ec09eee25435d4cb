import { createReadStream } from 'node:fs';
import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { hashFile } from '../baselines.js';
import { randomFile } from '../data.js';
import { GlanceClient } from '../glance.js';
import { rbdExport } from '../rbd-cli.js';
import { rbdServers, RBD_POOL, RBD_USER } from '../rbd-servers.js';
import {
  describeBytes,
  measurement,
  ratio,
  serversInOrder,
  type RunnableScenario,
  type ScenarioOutcome,
} from '../scenario.js';
import { MIB, mibPerSecond } from '../stats.js';
import { TARGETS } from '../targets.js';

/** download-file's measurement against private instances of both servers with the rbd store. */
export const downloadRbd: RunnableScenario = {
  kind: 'runnable',
  id: 'download-rbd',
  title: (ctx) => `Download of a ${describeBytes(ctx.sizes.uploadBytes)} image, rbd store`,
  async run(ctx): Promise<ScenarioOutcome> {
    const servers = await rbdServers(ctx);
    const bytes = ctx.sizes.uploadBytes;
    const source = await randomFile(ctx.workdir, bytes);
    const { md5 } = await hashFile(source);
    const writer = new GlanceClient(servers.ours, adminTokenFromStack);
    const id = await writer.createImage('bench-download-rbd');
    const remove = ctx.cleanups.add(`image ${id}`, () => writer.deleteImage(id));
    try {
      await writer.upload(id, createReadStream(source, { highWaterMark: MIB }), bytes);
      const samples = { ours: [] as number[], upstream: [] as number[], rbd: [] as number[] };
      for (let rep = 0; rep < ctx.repetitions; rep++) {
        for (const server of serversInOrder({ ...ctx, ...servers }, rep)) {
          const client = new GlanceClient(server, adminTokenFromStack);
          const start = performance.now();
          const got = await client.download(id);
          const ms = performance.now() - start;
          if (got.bytes !== bytes || got.contentMd5 !== md5) {
            throw new Error(
              `${server.name} sent ${got.bytes} bytes with Content-MD5 ${got.contentMd5}; ` +
                `expected ${bytes} bytes, md5 ${md5}`,
            );
          }
          samples[server.name].push(mibPerSecond(bytes, ms));
        }
        const exported = await rbdExport(id);
        if (exported.bytes !== bytes)
          throw new Error(`rbd export gave ${exported.bytes} bytes, expected ${bytes}`);
        samples.rbd.push(mibPerSecond(bytes, exported.ms));
        ctx.progress(`download-rbd: repetition ${rep + 1}/${ctx.repetitions} done`);
      }
      const ours = measurement('ours', 'ours (api-server)', 'MiB/s', samples.ours);
      const upstream = measurement('upstream', 'upstream glance-api', 'MiB/s', samples.upstream);
      const rbd = measurement('rbd-export', '`rbd export` of the image into a pipe', 'MiB/s', samples.rbd);
      return {
        measurements: [ours, upstream, rbd],
        checks: [
          ratio('ours ÷ upstream', ours, upstream, TARGETS.downloadVsUpstream),
          ratio('ours ÷ rbd export', ours, rbd),
        ],
        notes: [
          `a private instance of each server on a free port, the stack's glance-api.conf with [glance_store] ` +
            `stores = rbd, pool ${RBD_POOL}, user ${RBD_USER}, on the stack's one-node Ceph; the image is ` +
            'uploaded once through ours and read through both; the client counts and drops the bytes and ' +
            'checks the count and Content-MD5; `rbd export` (same user) is the librbd baseline',
        ],
      };
    } finally {
      await remove();
    }
  },
};
