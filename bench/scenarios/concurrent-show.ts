import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { GlanceClient } from '../glance.js';
import { runLoad, type LoadResult } from '../load.js';
import {
  measurement,
  ratio,
  serversInOrder,
  type BenchContext,
  type RunnableScenario,
  type ScenarioOutcome,
  type Server,
} from '../scenario.js';
import { percentile } from '../stats.js';
import { TARGETS } from '../targets.js';

// Opens every connection and fills each worker's token cache before the timed run.
const WARM_UP_MS = 1000;

async function load(ctx: BenchContext, server: Server, id: string, durationMs: number): Promise<LoadResult> {
  const result = await runLoad({
    url: `${server.url}/v2/images/${id}`,
    headers: { 'X-Auth-Token': await adminTokenFromStack(), Accept: 'application/json' },
    clients: ctx.sizes.showClients,
    durationMs,
    maxRequests: ctx.sizes.showMaxRequests,
    timeoutMs: 30_000,
  });
  if (result.errors > 0) {
    throw new Error(
      `${server.name}: ${result.errors} requests failed under load, first: ${result.firstError}`,
    );
  }
  return result;
}

export const concurrentShow: RunnableScenario = {
  kind: 'runnable',
  id: 'concurrent-show',
  title: (ctx) => `${ctx.sizes.showClients} concurrent clients showing an image (GET /v2/images/{id})`,
  async run(ctx): Promise<ScenarioOutcome> {
    const owner = new GlanceClient(ctx.ours, adminTokenFromStack);
    const id = await owner.createImage('bench-show');
    const remove = ctx.cleanups.add(`image ${id}`, () => owner.deleteImage(id));
    try {
      const rate = { ours: [] as number[], upstream: [] as number[] };
      const p99 = { ours: [] as number[], upstream: [] as number[] };
      for (let rep = 0; rep < ctx.repetitions; rep++) {
        for (const server of serversInOrder(ctx, rep)) {
          await load(ctx, server, id, WARM_UP_MS);
          const result = await load(ctx, server, id, ctx.sizes.showSeconds * 1000);
          rate[server.name].push(result.requests / result.seconds);
          p99[server.name].push(percentile(result.latenciesMs, 99));
        }
        ctx.progress(`concurrent-show: repetition ${rep + 1}/${ctx.repetitions} done`);
      }
      const oursRate = measurement('ours-rate', 'ours (api-server)', 'req/s', rate.ours);
      const upstreamRate = measurement('upstream-rate', 'upstream glance-api', 'req/s', rate.upstream);
      const oursP99 = measurement('ours-p99', 'ours (api-server) p99', 'ms', p99.ours);
      const upstreamP99 = measurement('upstream-p99', 'upstream glance-api p99', 'ms', p99.upstream);
      return {
        measurements: [oursRate, upstreamRate, oursP99, upstreamP99],
        checks: [
          ratio('req/s ours ÷ upstream', oursRate, upstreamRate, TARGETS.showRateVsUpstream),
          ratio('p99 ours ÷ upstream', oursP99, upstreamP99),
        ],
        notes: [
          `closed loop: ${ctx.sizes.showClients} keep-alive connections from the benchmark process, each sending ` +
            `its next request on the previous answer, for ${ctx.sizes.showSeconds} s (at most ` +
            `${ctx.sizes.showMaxRequests} requests) after a ${WARM_UP_MS / 1000} s warm-up; the load generator ` +
            'shares the CPUs with the servers, one token, admin',
        ],
      };
    } finally {
      await remove();
    }
  },
};
