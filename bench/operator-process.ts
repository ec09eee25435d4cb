import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findRepoRoot, freePort } from '../test/harness/paths.js';
import { stackValue } from '../test/harness/stack-env.js';

export interface OperatorProcess {
  log: string;
  /** Rejects if the operator exits before stop(): a run waiting on it then fails at once. */
  exited: Promise<never>;
  stop(): Promise<void>;
}

/**
 * The operator as its own process (dist/operator/src/main.js, as `npm run build` leaves it), watching one
 * namespace only, so that it never touches what other runs and tests have in theirs. Returns once /readyz
 * says its caches are synced: what it then does is the operator's work, not its start-up.
 */
export async function startOperator(
  namespace: string,
  logDir: string,
  extraEnv: Record<string, string> = {},
): Promise<OperatorProcess> {
  const main = path.join(findRepoRoot(), 'dist/operator/src/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  await mkdir(logDir, { recursive: true });
  const log = path.join(logDir, `operator-${namespace}.log`);
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: stackValue('KUBECONFIG'),
      WATCH_NAMESPACE: namespace,
      POD_NAMESPACE: namespace,
      LEADER_ELECT: 'false',
      HEALTH_ADDRESS: '127.0.0.1',
      HEALTH_PORT: String(port),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(log, { flags: 'a' });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let stopping = false;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => {
      if (!stopping) reject(new Error(`the operator exited (${code ?? signal}); see ${log}`));
    }),
  );
  exited.catch(() => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the operator exited (${child.exitCode}); see ${log}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) return { log, exited, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the operator was not ready within 60 s; see ${log}`);
    }
    await sleep(100);
  }
}
