/**
 * `npm run bench [-- options]`: compiles bench/ (bench/tsconfig.json → dist/bench) and runs this file from the
 * checkout's root. Every scenario runs against our api-server, upstream glance-api and the machine's own
 * limit; the table goes to stdout, progress to stderr, the JSON to bench/results/. Exit status: 0 when every
 * available scenario ran (missed targets included: a benchmark is not a test), 1 when one failed, 2 for a bad
 * command line.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Cleanups } from './cleanup.js';
import { parseOptions, QUICK_SIZES, FULL_SIZES, USAGE, UsageError, type BenchOptions } from './options.js';
import { SCENARIOS } from './registry.js';
import { runBench } from './runner.js';
import type { BenchContext } from './scenario.js';
import { renderTable } from './table.js';

const progress = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

function contextFor(options: BenchOptions, cleanups: Cleanups): BenchContext {
  return {
    mode: options.quick ? 'quick' : 'full',
    repetitions: options.repetitions,
    sizes: options.quick ? QUICK_SIZES : FULL_SIZES,
    ours: { name: 'ours', url: options.ours },
    upstream: { name: 'upstream', url: options.upstream },
    workdir: options.workdir,
    cleanups,
    progress,
  };
}

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let options: BenchOptions;
  try {
    options = parseOptions(
      process.argv.slice(2),
      SCENARIOS.map((s) => s.id),
      new Date(),
    );
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  const cleanups = new Cleanups();
  // An interrupted run still removes the images, rows and project it made on the shared stack.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: cleaning up`);
      void cleanups.runAll(progress).finally(() => process.exit(130));
    });
  }
  const selected = SCENARIOS.filter((s) => options.only === null || options.only.includes(s.id));
  const report = await runBench(contextFor(options, cleanups), selected);
  // What scenarios share for the whole run (the rbd-backed servers) is stopped here; the rest is gone already.
  await cleanups.runAll(progress);
  process.stdout.write(renderTable(report));
  await mkdir(path.dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
  progress(`results written to ${options.out}`);
  return report.scenarios.some((s) => s.status === 'failed') ? 1 : 0;
}

process.exitCode = await main();
