import { createReadStream } from 'node:fs';
import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { hashFile } from '../baselines.js';
import { randomFile } from '../data.js';
import { GlanceClient } from '../glance.js';
import {
  describeBytes,
  measurement,
  ratio,
  serversInOrder,
  type BenchContext,
  type RunnableScenario,
  type ScenarioOutcome,
} from '../scenario.js';
import { MIB, mibPerSecond } from '../stats.js';
import { TARGETS } from '../targets.js';

/** Times one upload (PUT start to 204) and checks the server stored what was sent. */
async function timedUpload(
  ctx: BenchContext,
  client: GlanceClient,
  file: string,
  bytes: number,
  digests: { md5: string; sha512: string },
): Promise<number> {
  const id = await client.createImage(`bench-upload-${client.server.name}`);
  const remove = ctx.cleanups.add(`image ${id}`, () => client.deleteImage(id));
  try {
    const start = performance.now();
    await client.upload(id, createReadStream(file, { highWaterMark: MIB }), bytes);
    const ms = performance.now() - start;
    const image = await client.show(id);
    if (
      image.status !== 'active' ||
      image.size !== bytes ||
      image.checksum !== digests.md5 ||
      image.os_hash_value !== digests.sha512
    ) {
      throw new Error(
        `${client.server.name} stored ${image.size} bytes, md5 ${image.checksum}, status ${image.status}; ` +
          `sent ${bytes} bytes, md5 ${digests.md5} (or its sha512 differs)`,
      );
    }
    return ms;
  } finally {
    await remove();
  }
}

export const uploadFile: RunnableScenario = {
  kind: 'runnable',
  id: 'upload-file',
  title: (ctx) => `Upload of a ${describeBytes(ctx.sizes.uploadBytes)} random file, file store`,
  async run(ctx): Promise<ScenarioOutcome> {
    const bytes = ctx.sizes.uploadBytes;
    const file = await randomFile(ctx.workdir, bytes);
    // Reading it once puts the file in the page cache and gives the digests the servers must agree with.
    const digests = await hashFile(file);
    const samples = { ours: [] as number[], upstream: [] as number[], hash: [] as number[] };
    for (let rep = 0; rep < ctx.repetitions; rep++) {
      for (const server of serversInOrder(ctx, rep)) {
        const client = new GlanceClient(server, adminTokenFromStack);
        samples[server.name].push(mibPerSecond(bytes, await timedUpload(ctx, client, file, bytes, digests)));
      }
      samples.hash.push(mibPerSecond(bytes, (await hashFile(file)).ms));
      ctx.progress(`upload-file: repetition ${rep + 1}/${ctx.repetitions} done`);
    }
    const ours = measurement('ours', 'ours (api-server)', 'MiB/s', samples.ours);
    const upstream = measurement('upstream', 'upstream glance-api', 'MiB/s', samples.upstream);
    const hash = measurement('hash-limit', 'hash limit: md5 + sha512, one thread', 'MiB/s', samples.hash);
    return {
      measurements: [ours, upstream, hash],
      checks: [
        ratio('ours ÷ upstream', ours, upstream, TARGETS.uploadVsUpstream),
        ratio('ours ÷ hash limit', ours, hash, TARGETS.uploadVsHashLimit),
      ],
      notes: [
        'PUT /v2/images/{id}/file with Content-Length, body streamed from the page cache in 1 MiB reads; ' +
          'timed from the request to the 204; each server then shows the image active with the right md5 and sha512',
      ],
    };
  },
};
