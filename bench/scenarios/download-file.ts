import { createReadStream } from 'node:fs';
import { stackValue } from '../../test/harness/stack-env.js';
import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { catFile, hashFile } from '../baselines.js';
import { randomFile } from '../data.js';
import { GlanceClient } from '../glance.js';
import type { Measurement } from '../report.js';
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

/** A physical baseline timed after each repetition of the downloads, reading the same stored data. */
export interface DownloadBaseline {
  id: string;
  label: string;
  /** Called once before timing, with the image's id: warms what it reads, returns the timed run. */
  prepare(id: string): Promise<() => Promise<{ ms: number; bytes: number }>>;
}

/**
 * Uploads one random file through ours, then downloads it through both servers and the baseline, each repetition
 * in turn; every download is checked for its length and Content-MD5. `name` prefixes the progress messages.
 */
export async function measureDownloads(
  ctx: BenchContext,
  name: string,
  baseline: DownloadBaseline,
): Promise<{ ours: Measurement; upstream: Measurement; baseline: Measurement }> {
  const bytes = ctx.sizes.uploadBytes;
  const source = await randomFile(ctx.workdir, bytes);
  const { md5 } = await hashFile(source);
  const writer = new GlanceClient(ctx.ours, adminTokenFromStack);
  const id = await writer.createImage(`bench-${name}`);
  const remove = ctx.cleanups.add(`image ${id}`, () => writer.deleteImage(id));
  try {
    await writer.upload(id, createReadStream(source, { highWaterMark: MIB }), bytes);
    const timeBaseline = await baseline.prepare(id);
    const samples = { ours: [] as number[], upstream: [] as number[], baseline: [] as number[] };
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
      const run = await timeBaseline();
      if (run.bytes !== bytes) throw new Error(`${baseline.id} gave ${run.bytes} bytes, expected ${bytes}`);
      samples.baseline.push(mibPerSecond(bytes, run.ms));
      ctx.progress(`${name}: repetition ${rep + 1}/${ctx.repetitions} done`);
    }
    return {
      ours: measurement('ours', 'ours (api-server)', 'MiB/s', samples.ours),
      upstream: measurement('upstream', 'upstream glance-api', 'MiB/s', samples.upstream),
      baseline: measurement(baseline.id, baseline.label, 'MiB/s', samples.baseline),
    };
  } finally {
    await remove();
  }
}

export const DOWNLOAD_METHOD =
  'the client counts and drops the bytes, and checks the count and Content-MD5; the servers and the baseline ' +
  'are read by the same reader (one reused buffer per read, bench/http.ts), which costs 0.2–0.4 CPU-s per GiB';

const catOfStoredFile: DownloadBaseline = {
  id: 'cat',
  label: '`cat` of the stored file into a loopback socket',
  async prepare(id) {
    // Both servers use this directory; `cat` reads the very file they serve, and this first read warms it.
    const stored = `${stackValue('UPSTREAM_GLANCE_DATADIR').replace(/\/$/, '')}/${id}`;
    await catFile(stored);
    return () => catFile(stored);
  },
};

export const downloadFile: RunnableScenario = {
  kind: 'runnable',
  id: 'download-file',
  title: (ctx) => `Download of a ${describeBytes(ctx.sizes.uploadBytes)} image, file store, warm page cache`,
  async run(ctx): Promise<ScenarioOutcome> {
    const m = await measureDownloads(ctx, 'download-file', catOfStoredFile);
    return {
      measurements: [m.ours, m.upstream, m.baseline],
      checks: [
        ratio('ours ÷ upstream', m.ours, m.upstream, TARGETS.downloadVsUpstream),
        ratio('ours ÷ cat', m.ours, m.baseline, TARGETS.downloadVsCat),
      ],
      notes: [
        'warm page cache: the stored file was read once before timing and the machine has RAM to keep it; ' +
          DOWNLOAD_METHOD,
      ],
    };
  },
};
