import { createReadStream } from 'node:fs';
import { stackValue } from '../../test/harness/stack-env.js';
import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { catFile, hashFile } from '../baselines.js';
import { randomFile } from '../data.js';
import { GlanceClient } from '../glance.js';
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

export const downloadFile: RunnableScenario = {
  kind: 'runnable',
  id: 'download-file',
  title: (ctx) => `Download of a ${describeBytes(ctx.sizes.uploadBytes)} image, file store, warm page cache`,
  async run(ctx): Promise<ScenarioOutcome> {
    const bytes = ctx.sizes.uploadBytes;
    const source = await randomFile(ctx.workdir, bytes);
    const { md5 } = await hashFile(source);
    const writer = new GlanceClient(ctx.ours, adminTokenFromStack);
    const id = await writer.createImage('bench-download');
    const remove = ctx.cleanups.add(`image ${id}`, () => writer.deleteImage(id));
    try {
      await writer.upload(id, createReadStream(source, { highWaterMark: MIB }), bytes);
      // Both servers use this directory; `cat` reads the very file they serve.
      const stored = `${stackValue('UPSTREAM_GLANCE_DATADIR').replace(/\/$/, '')}/${id}`;
      const warm = await catFile(stored);
      if (warm.bytes !== bytes) throw new Error(`${stored} holds ${warm.bytes} bytes, expected ${bytes}`);
      const samples = { ours: [] as number[], upstream: [] as number[], cat: [] as number[] };
      for (let rep = 0; rep < ctx.repetitions; rep++) {
        for (const server of serversInOrder(ctx, rep)) {
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
        samples.cat.push(mibPerSecond(bytes, (await catFile(stored)).ms));
        ctx.progress(`download-file: repetition ${rep + 1}/${ctx.repetitions} done`);
      }
      const ours = measurement('ours', 'ours (api-server)', 'MiB/s', samples.ours);
      const upstream = measurement('upstream', 'upstream glance-api', 'MiB/s', samples.upstream);
      const cat = measurement('cat', '`cat` of the stored file into a loopback socket', 'MiB/s', samples.cat);
      return {
        measurements: [ours, upstream, cat],
        checks: [
          ratio('ours ÷ upstream', ours, upstream, TARGETS.downloadVsUpstream),
          ratio('ours ÷ cat', ours, cat, TARGETS.downloadVsCat),
        ],
        notes: [
          'warm page cache: the stored file was read once before timing and the machine has RAM to keep it; ' +
            'the client counts and drops the bytes, and checks the count and Content-MD5; the servers and cat are ' +
            'read by the same reader (one reused buffer per read, bench/http.ts), which costs 0.2–0.4 CPU-s per GiB',
        ],
      };
    } finally {
      await remove();
    }
  },
};
