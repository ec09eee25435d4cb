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
import type { Target } from '../report.js';
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

/** A physical baseline timed after each repetition of the uploads, on the same file. */
export interface UploadBaseline {
  id: string;
  label: string;
  /** Milliseconds to process the whole file once. */
  time(file: string, repetition: number): Promise<number>;
  /** The check of ours against it. */
  /** The check of ours against it; without a target, shown for information. */
  check: { label: string; target?: Target };
}

export const hashLimit: UploadBaseline = {
  id: 'hash-limit',
  label: 'hash limit: md5 + sha512, one thread',
  time: async (file) => (await hashFile(file)).ms,
  check: { label: 'ours ÷ hash limit', target: TARGETS.uploadVsHashLimit },
};

/**
 * Uploads of one random file to both servers, interleaved with the baselines, each repetition in turn; `name`
 * prefixes the progress messages.
 */
export async function measureUploads(
  ctx: BenchContext,
  name: string,
  baselines: UploadBaseline[],
): Promise<Pick<ScenarioOutcome, 'measurements' | 'checks'>> {
  const bytes = ctx.sizes.uploadBytes;
  const file = await randomFile(ctx.workdir, bytes);
  // Reading it once puts the file in the page cache and gives the digests the servers must agree with.
  const digests = await hashFile(file);
  const samples = { ours: [] as number[], upstream: [] as number[] };
  const baselineSamples = baselines.map(() => [] as number[]);
  for (let rep = 0; rep < ctx.repetitions; rep++) {
    for (const server of serversInOrder(ctx, rep)) {
      const client = new GlanceClient(server, adminTokenFromStack);
      samples[server.name].push(mibPerSecond(bytes, await timedUpload(ctx, client, file, bytes, digests)));
    }
    for (const [i, baseline] of baselines.entries()) {
      baselineSamples[i]!.push(mibPerSecond(bytes, await baseline.time(file, rep)));
    }
    ctx.progress(`${name}: repetition ${rep + 1}/${ctx.repetitions} done`);
  }
  const ours = measurement('ours', 'ours (api-server)', 'MiB/s', samples.ours);
  const upstream = measurement('upstream', 'upstream glance-api', 'MiB/s', samples.upstream);
  const measured = baselines.map((b, i) => measurement(b.id, b.label, 'MiB/s', baselineSamples[i]!));
  return {
    measurements: [ours, upstream, ...measured],
    checks: [
      ratio('ours ÷ upstream', ours, upstream, TARGETS.uploadVsUpstream),
      ...baselines.map((b, i) => ratio(b.check.label, ours, measured[i]!, b.check.target)),
    ],
  };
}

export const UPLOAD_METHOD =
  'PUT /v2/images/{id}/file with Content-Length, body streamed from the page cache in 1 MiB reads; ' +
  'timed from the request to the 204; each server then shows the image active with the right md5 and sha512';

export const uploadFile: RunnableScenario = {
  kind: 'runnable',
  id: 'upload-file',
  title: (ctx) => `Upload of a ${describeBytes(ctx.sizes.uploadBytes)} random file, file store`,
  async run(ctx): Promise<ScenarioOutcome> {
    return {
      ...(await measureUploads(ctx, 'upload-file', [hashLimit])),
      notes: [UPLOAD_METHOD],
    };
  },
};
