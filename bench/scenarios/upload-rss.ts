import { setTimeout as sleep } from 'node:timers/promises';
import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { generatedStream } from '../data.js';
import { GlanceClient } from '../glance.js';
import { processTree, residentOf, serverRoot, type Resident } from '../proc-rss.js';
import {
  check,
  describeBytes,
  measurement,
  type BenchContext,
  type RunnableScenario,
  type ScenarioOutcome,
} from '../scenario.js';
import { median } from '../stats.js';
import { TARGETS } from '../targets.js';

const SAMPLE_EVERY_MS = 50;
const IDLE_SAMPLES = 10;
const MB = 1e6;

type Snapshot = Map<number, Resident>;

const sum = (snapshot: Snapshot, part: keyof Resident = 'rss'): number =>
  [...snapshot.values()].reduce((total, r) => total + r[part], 0);

/** Memory of every process of the tree, sampled until `busy` settles (and at least once). */
async function sampleWhile(tree: number[], busy: Promise<void>): Promise<Snapshot[]> {
  const samples: Snapshot[] = [];
  let done = false;
  const finished = busy.finally(() => (done = true));
  do {
    samples.push(await residentOf(tree));
    await Promise.race([sleep(SAMPLE_EVERY_MS), finished.catch(() => undefined)]);
  } while (!done);
  await finished;
  return samples;
}

interface RssRun {
  idle: number;
  peak: number;
  /** The processes' own memory (RssAnon) in the sample where the sum of RSS peaked. */
  peakAnon: number;
  /** The largest sum of PSS: the tree's memory with the pages its processes share counted once. */
  peakPss: number;
  peakProcess: number;
  /** Peak of the last quarter of the upload over the peak of its first quarter. */
  growth: number;
  processes: number;
}

async function oneUpload(ctx: BenchContext, root: number): Promise<RssRun> {
  const tree = await processTree(root);
  const idle: number[] = [];
  for (let n = 0; n < IDLE_SAMPLES; n++) {
    idle.push(sum(await residentOf(tree)));
    await sleep(SAMPLE_EVERY_MS);
  }
  const bytes = ctx.sizes.rssUploadBytes;
  const client = new GlanceClient(ctx.ours, adminTokenFromStack);
  const id = await client.createImage('bench-rss');
  const remove = ctx.cleanups.add(`image ${id}`, () => client.deleteImage(id));
  try {
    const samples = await sampleWhile(tree, client.upload(id, generatedStream(bytes), bytes));
    const image = await client.show(id);
    if (image.status !== 'active' || image.size !== bytes) {
      throw new Error(`ours stored ${image.size} bytes (status ${image.status}) of ${bytes}`);
    }
    // The upload runs at a steady rate, so a quarter of the samples is a quarter of the bytes.
    const totals = samples.map((s) => sum(s));
    const peakAt = totals.indexOf(Math.max(...totals));
    const quarter = Math.max(1, Math.floor(totals.length / 4));
    return {
      idle: median(idle),
      peak: totals[peakAt]!,
      peakAnon: sum(samples[peakAt]!, 'anon'),
      peakPss: Math.max(...samples.map((s) => sum(s, 'pss'))),
      peakProcess: Math.max(...samples.flatMap((s) => [...s.values()].map((r) => r.rss))),
      growth: Math.max(...totals.slice(-quarter)) / Math.max(...totals.slice(0, quarter)),
      processes: tree.length,
    };
  } finally {
    await remove();
  }
}

export const uploadRss: RunnableScenario = {
  kind: 'runnable',
  id: 'upload-rss',
  title: (ctx) => `Peak RSS of our API during a ${describeBytes(ctx.sizes.rssUploadBytes)} upload`,
  async run(ctx): Promise<ScenarioOutcome> {
    const root = await serverRoot(Number(new URL(ctx.ours.url).port));
    const runs: RssRun[] = [];
    for (let rep = 0; rep < ctx.repetitions; rep++) {
      runs.push(await oneUpload(ctx, root));
      ctx.progress(`upload-rss: repetition ${rep + 1}/${ctx.repetitions} done`);
    }
    const mb = (pick: (r: RssRun) => number): number[] => runs.map((r) => pick(r) / MB);
    const idle = measurement(
      'idle',
      'ours idle, all processes',
      'MB',
      mb((r) => r.idle),
    );
    const peak = measurement(
      'peak',
      'ours peak, all processes',
      'MB',
      mb((r) => r.peak),
    );
    const peakAnon = measurement(
      'peak-anon',
      'of which anonymous (RssAnon)',
      'MB',
      mb((r) => r.peakAnon),
    );
    const peakPss = measurement(
      'peak-pss',
      'ours peak, all processes, shared pages once (PSS)',
      'MB',
      mb((r) => r.peakPss),
    );
    const peakProcess = measurement(
      'peak-process',
      'ours peak, largest process',
      'MB',
      mb((r) => r.peakProcess),
    );
    const growth = measurement(
      'growth',
      'last ÷ first quarter of the upload',
      '×',
      runs.map((r) => r.growth),
    );
    return {
      measurements: [idle, peak, peakAnon, peakPss, peakProcess, growth],
      checks: [
        // Per process: every Node process carries ~40 MB of node's own pages (34 MB of them the binary, shared),
        // so three processes (a primary and upstream's default of workers) sum past 120 MB before serving
        // anything. A process is what an operator sizes (a container limit, workers = N); the sums are shown.
        check('peak, largest process', peakProcess.median, 'MB', TARGETS.rssPeak),
        check('growth over the upload', growth.median, '×', TARGETS.rssFlat),
      ],
      notes: [
        `VmRSS from /proc every ${SAMPLE_EVERY_MS} ms, summed over the server's ${runs[0]?.processes} ` +
          'processes (the node:cluster primary and its workers); RSS counts the file pages they share (the node ' +
          'binary) once per process, PSS once in all, RssAnon only their own memory. The target applies to each ' +
          'process. The upload streams generated data with Content-Length, the image is never held whole',
      ],
    };
  },
};
