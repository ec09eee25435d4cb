import { cpus, loadavg } from 'node:os';
import type { BenchReport, ScenarioResult } from './report.js';
import type { BenchContext, Scenario } from './scenario.js';

async function runOne(ctx: BenchContext, scenario: Scenario): Promise<ScenarioResult> {
  if (scenario.kind === 'planned') {
    return {
      id: scenario.id,
      title: scenario.title,
      status: 'not-available',
      reason: scenario.missing,
      targets: scenario.targets.map((t) => t.text),
    };
  }
  const title = scenario.title(ctx);
  ctx.progress(`${scenario.id}: ${title}`);
  try {
    return { id: scenario.id, title, status: 'ok', ...(await scenario.run(ctx)) };
  } catch (err) {
    ctx.progress(`${scenario.id} failed: ${(err as Error).stack ?? String(err)}`);
    return { id: scenario.id, title, status: 'failed', error: (err as Error).message };
  }
}

/** Runs the scenarios one after the other; a failing one is reported and the others still run. */
export async function runBench(ctx: BenchContext, scenarios: readonly Scenario[]): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const loadAverageBefore = loadavg();
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) results.push(await runOne(ctx, scenario));
  return {
    mode: ctx.mode,
    repetitions: ctx.repetitions,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAverageBefore, loadAverageAfter: loadavg() },
    servers: { ours: ctx.ours.url, upstream: ctx.upstream.url },
    scenarios: results,
  };
}
