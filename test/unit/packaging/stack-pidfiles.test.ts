import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The stack's state (and its pidfiles) is on disk and outlives a reboot; a fresh boot may hand a recorded number to
// another process. CI once skipped starting containerd because its old pid belonged to a stranger.
const lib = fileURLToPath(new URL('../../../scripts/stack/lib.sh', import.meta.url));

describe('stack pidfiles', () => {
  let dir: string;
  let stranger: ChildProcess;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-pid-'));
    mkdirSync(join(dir, 'run'));
    stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
  });
  afterEach(() => {
    stranger.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const sh = (script: string) =>
    spawnSync('bash', ['-c', `source "${lib}"; ${script}`], {
      env: { ...process.env, GLANCE_STACK_DIR: dir },
      encoding: 'utf8',
    });

  test('a pidfile left from before a reboot, whose number now names another process, is not taken as running', () => {
    writeFileSync(join(dir, 'run', 'containerd.pid'), `${stranger.pid}\n`);
    expect(sh('alive containerd && echo running || echo stopped').stdout.trim()).toBe('stopped');
  });

  test.each([
    ['the old format (a number alone)', ''],
    ['another boot', 'some-old-boot 12345\n'],
  ])(
    'stopping a daemon whose pidfile (%s) names another process leaves that process alone',
    async (_, identity) => {
      writeFileSync(join(dir, 'run', 'containerd.pid'), `${stranger.pid}\n${identity}`);
      sh('stop_bg containerd');
      await new Promise((r) => setTimeout(r, 100));
      expect([stranger.exitCode, stranger.signalCode]).toEqual([null, null]);
    },
  );

  test('a daemon the stack started is running until stopped', () => {
    const out = sh(
      `start_bg napper "${dir}/napper.log" sleep 60; alive napper && echo running; ` +
        `stop_bg napper 2>/dev/null; alive napper && echo running || echo stopped`,
    ).stdout;
    expect(out.trim().split('\n')).toEqual(['running', 'stopped']);
  });
});
