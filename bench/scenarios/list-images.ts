import { GlanceClient } from '../glance.js';
import {
  measurement,
  ratio,
  serversInOrder,
  type BenchContext,
  type RunnableScenario,
  type ScenarioOutcome,
} from '../scenario.js';
import { openGlanceDatabase, registerImages, removeImages } from '../scratch-images.js';
import { createScratchProject, deleteScratchProject, type ScratchProject } from '../scratch-project.js';
import { percentile } from '../stats.js';
import { TARGETS } from '../targets.js';

const LIMIT = 1000;
const WARM_UP_REQUESTS = 2;

async function listLatencies(
  ctx: BenchContext,
  client: GlanceClient,
  expected: number,
): Promise<{ p50: number; p99: number }> {
  const latencies: number[] = [];
  for (let n = 0; n < WARM_UP_REQUESTS + ctx.sizes.listRequests; n++) {
    const { ms, images } = await client.timedList(`limit=${LIMIT}`);
    // Public images of other projects are listed too, so the page may hold more than the scratch project's.
    if (images < expected || images > LIMIT) {
      throw new Error(`${client.server.name} listed ${images} images, expected ${expected} to ${LIMIT}`);
    }
    if (n >= WARM_UP_REQUESTS) latencies.push(ms);
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function measureLists(ctx: BenchContext, project: ScratchProject): Promise<ScenarioOutcome> {
  const expected = Math.min(LIMIT, ctx.sizes.listImages);
  const samples = {
    ours: { p50: [] as number[], p99: [] as number[] },
    upstream: { p50: [] as number[], p99: [] as number[] },
  };
  for (let rep = 0; rep < ctx.repetitions; rep++) {
    for (const server of serversInOrder(ctx, rep)) {
      const { p50, p99 } = await listLatencies(
        ctx,
        new GlanceClient(server, async () => project.token),
        expected,
      );
      samples[server.name].p50.push(p50);
      samples[server.name].p99.push(p99);
    }
    ctx.progress(`list-images: repetition ${rep + 1}/${ctx.repetitions} done`);
  }
  const oursP50 = measurement('ours-p50', 'ours (api-server) p50', 'ms', samples.ours.p50);
  const upstreamP50 = measurement('upstream-p50', 'upstream glance-api p50', 'ms', samples.upstream.p50);
  const oursP99 = measurement('ours-p99', 'ours (api-server) p99', 'ms', samples.ours.p99);
  const upstreamP99 = measurement('upstream-p99', 'upstream glance-api p99', 'ms', samples.upstream.p99);
  return {
    measurements: [oursP50, upstreamP50, oursP99, upstreamP99],
    checks: [
      ratio('p50 ours ÷ upstream', oursP50, upstreamP50, TARGETS.listP50VsUpstream),
      ratio('p99 ours ÷ upstream', oursP99, upstreamP99),
    ],
    notes: [
      `${ctx.sizes.listImages} private images (two properties and a tag each) registered by SQL in a scratch ` +
        `Keystone project and listed by a member of it; ${ctx.sizes.listRequests} sequential requests per ` +
        `server and repetition after ${WARM_UP_REQUESTS} warm-up ones, timed to the last byte`,
    ],
  };
}

export const listImages: RunnableScenario = {
  kind: 'runnable',
  id: 'list-images',
  title: (ctx) => `GET /v2/images?limit=${LIMIT} with ${ctx.sizes.listImages} images registered`,
  async run(ctx): Promise<ScenarioOutcome> {
    const pool = openGlanceDatabase();
    try {
      const project = await createScratchProject('list');
      const dropProject = ctx.cleanups.add(`scratch project ${project.name}`, () =>
        deleteScratchProject(project.id),
      );
      try {
        const dropRows = ctx.cleanups.add(`images of ${project.name}`, () => removeImages(pool, project.id));
        try {
          const start = performance.now();
          await registerImages(pool, project.id, ctx.sizes.listImages);
          ctx.progress(
            `list-images: ${ctx.sizes.listImages} images registered in ${((performance.now() - start) / 1000).toFixed(1)} s`,
          );
          return await measureLists(ctx, project);
        } finally {
          await dropRows();
        }
      } finally {
        await dropProject();
      }
    } finally {
      await pool.end();
    }
  },
};
