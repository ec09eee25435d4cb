import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SCENARIOS } from '../../../bench/registry.js';
import { benchReportSchema, type BenchReport, type Measurement } from '../../../bench/report.js';

// The CI run of the benchmarks: `npm run bench -- --quick` against the stack, to keep them working. It checks
// that every scenario ran and reported numbers that can be true, never how fast anything was.

function npmRunBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'bench', '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
let run: { code: number | null; stdout: string; stderr: string };
let report: BenchReport;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bench-smoke-'));
  const out = path.join(dir, 'quick.json');
  run = await npmRunBench(['--quick', '--out', out]);
  if (run.code !== 0)
    throw new Error(`npm run bench -- --quick exited ${run.code}:\n${run.stderr.slice(-3000)}`);
  report = benchReportSchema.parse(JSON.parse(await readFile(out, 'utf8')));
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const measured = (id: string, measurement: string): Measurement => {
  const scenario = report.scenarios.find((s) => s.id === id);
  if (scenario?.status !== 'ok') throw new Error(`scenario ${id} did not run`);
  const found = scenario.measurements.find((m) => m.id === measurement);
  if (!found) throw new Error(`scenario ${id} has no measurement ${measurement}`);
  return found;
};

test('reports every scenario of the registry, in its order, as a quick run of one repetition', () => {
  expect(report.mode).toBe('quick');
  expect(report.repetitions).toBe(1);
  expect(report.scenarios.map((s) => s.id)).toEqual(SCENARIOS.map((s) => s.id));
});

test('every available scenario ran, with one finite positive sample per measurement', () => {
  for (const scenario of SCENARIOS.filter((s) => s.kind === 'runnable')) {
    const result = report.scenarios.find((s) => s.id === scenario.id);
    expect(result).toMatchObject({ id: scenario.id, status: 'ok' });
    if (result?.status !== 'ok') continue;
    expect(result.measurements.length).toBeGreaterThan(0);
    for (const m of result.measurements) {
      expect(m.samples).toHaveLength(1);
      expect(Number.isFinite(m.median) && m.median > 0).toBe(true);
    }
    for (const c of result.checks) {
      expect(Number.isFinite(c.value) && c.value > 0).toBe(true);
      if (c.target) {
        const met = c.target.op === '>=' ? c.value >= c.target.value : c.value <= c.target.value;
        expect(c.verdict).toBe(met ? 'PASS' : 'MISS');
      }
    }
  }
});

test('scenarios whose code does not exist yet say why, with no numbers', () => {
  for (const scenario of SCENARIOS.filter((s) => s.kind === 'planned')) {
    const result = report.scenarios.find((s) => s.id === scenario.id);
    expect(result?.status).toBe('not-available');
    if (result?.status === 'not-available') expect(result.reason.length).toBeGreaterThan(20);
    expect(result).not.toHaveProperty('measurements');
  }
});

test('the numbers are ones a real run can produce', () => {
  // Percentiles are ordered; memory is that of a running node server, not zero and not absurd.
  expect(measured('list-images', 'ours-p99').median).toBeGreaterThanOrEqual(
    measured('list-images', 'ours-p50').median,
  );
  expect(measured('list-images', 'upstream-p99').median).toBeGreaterThanOrEqual(
    measured('list-images', 'upstream-p50').median,
  );
  expect(measured('upload-rss', 'peak').median).toBeGreaterThanOrEqual(
    measured('upload-rss', 'peak-process').median,
  );
  expect(measured('upload-rss', 'peak-process').median).toBeGreaterThan(20);
  expect(measured('upload-rss', 'peak-anon').median).toBeLessThan(measured('upload-rss', 'peak').median);
  expect(measured('upload-rss', 'peak').median).toBeLessThan(16_000);
  // 8 MiB cannot pass through HTTP faster than memory bandwidth.
  for (const id of ['ours', 'upstream']) {
    for (const scenario of ['upload-file', 'download-file', 'upload-rbd', 'download-rbd']) {
      expect(measured(scenario, id).median).toBeLessThan(50_000);
    }
  }
  for (const id of ['store-add', 'rbd-import', 'rbd-import-snap', 'store-get', 'rbd-export']) {
    expect(measured('rbd-store', id).median).toBeGreaterThan(0);
    expect(measured('rbd-store', id).median).toBeLessThan(50_000);
  }
  // The snapshot takes time: with it, the CLI cannot be faster than without.
  expect(measured('rbd-store', 'rbd-import-snap').median).toBeLessThanOrEqual(
    measured('rbd-store', 'rbd-import').median,
  );
});

test('prints the table with every scenario and a verdict next to each target', () => {
  for (const s of SCENARIOS) expect(run.stdout).toContain(`${s.id}: `);
  expect(run.stdout).toMatch(/target ≥ 3× upstream\s+(PASS|MISS)/);
  expect(run.stdout).toMatch(/target ≤ 1\.1× raw transfer\s+(PASS|MISS)/);
  expect(run.stdout).toMatch(/RbdStore\.add ÷ rbd import .*target ≥ 90% of rbd import\/export\s+(PASS|MISS)/);
  if (SCENARIOS.some((s) => s.kind === 'planned')) expect(run.stdout).toContain('not yet available');
});
