import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { run } from '../../harness/run.js';
import { stackValue } from '../../harness/stack-env.js';

// glance-tempest-plugin's secure-RBAC suite (project admin, member and reader personas, with system
// admins and other projects in the background), run by the real Tempest with [enforce_scope] glance = True
// against a server of each target started with enforce_secure_rbac, enforce_scope and the new defaults.
// Every test the suite holds must pass against ours: a test that was skipped or never ran fails this.

const runner = fileURLToPath(new URL('../../tempest/run.sh', import.meta.url));

interface Run {
  summary: string;
  listed: string[];
  passed: Set<string>;
}

const lines = (text: string) => text.split('\n').filter(Boolean);

async function rbacSuite(target: 'ours' | 'upstream'): Promise<Run> {
  await run('bash', [runner, '--rbac', target], { timeoutMs: 1_200_000 });
  const results = `${stackValue('STACK_DIR')}/results/tempest-${target}-rbac`;
  return {
    summary: await readFile(`${results}.txt`, 'utf8'),
    listed: lines(await readFile(`${results}.listed`, 'utf8')),
    passed: new Set(lines(await readFile(`${results}.passed`, 'utf8'))),
  };
}

test('glance-tempest-plugin RBAC suite: ours passes every test, and every test upstream passes', async () => {
  const upstream = await rbacSuite('upstream');
  const ours = await rbacSuite('ours');
  process.stdout.write(`upstream: ${upstream.summary}\nours: ${ours.summary}\n`);
  // An empty selection would pass everything below: the suite must be there, with all three personas.
  for (const persona of ['Admin', 'Member', 'Reader']) {
    expect(ours.listed.some((t) => new RegExp(`Project${persona}Tests\\.`).test(t))).toBe(true);
  }
  expect(ours.listed.filter((t) => !ours.passed.has(t))).toEqual([]);
  expect([...upstream.passed].filter((t) => !ours.passed.has(t))).toEqual([]);
  expect(ours.summary).toMatch(/passed \d+, failed 0, skipped 0/);
}, 2_700_000); // two whole RBAC runs, about 5 min each on two busy cores
