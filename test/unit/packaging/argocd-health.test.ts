import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

// The Argo CD health checks in deploy/argocd/, run by a real Lua 5.4 (Debian lua5.4, installed with the
// stack) on the cases of their health_test.yaml, the format Argo CD's own tests use.
const ROOT = new URL('../../../deploy/argocd/glance.stackops.dev/', import.meta.url);

function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${toLua(v)}`)
    .join(', ')}}`;
}

function runHealth(script: string, obj: unknown): { status: string; message: string } {
  const driver = `obj = ${toLua(obj)}
local hs = assert(loadfile(${JSON.stringify(script)}))()
io.write(hs.status, "\\n", hs.message or "")`;
  const out = execFileSync('lua5.4', ['-'], { input: driver, encoding: 'utf8' });
  const [status = '', ...rest] = out.split('\n');
  return { status, message: rest.join('\n') };
}

interface HealthTests {
  tests: Array<{ healthStatus: { status: string; message: string }; inputPath: string }>;
}

const kinds = readdirSync(ROOT);

describe.each(kinds)('Argo CD health of %s', (kind) => {
  const dir = new URL(`${kind}/`, ROOT);
  const { tests } = parse(readFileSync(new URL('health_test.yaml', dir), 'utf8')) as HealthTests;
  it.each(tests.map((t) => [t.inputPath, t] as const))('%s', (_path, t) => {
    const obj: unknown = parse(readFileSync(new URL(t.inputPath, dir), 'utf8'));
    expect(runHealth(fileURLToPath(new URL('health.lua', dir)), obj)).toEqual(t.healthStatus);
  });
});

it('covers both kinds', () => {
  expect(kinds.sort()).toEqual(['GlanceService', 'Image']);
});
