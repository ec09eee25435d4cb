import cluster from 'node:cluster';
import type { Logger } from 'pino';

/** The primary process: forks `workers` children (upstream's process model) and restarts any that die. */
export function supervise(workers: number, shutdownTimeoutMs: number, log: Logger): void {
  let stopping = false;
  const listening = new Set<number>();
  const fork = (): void => {
    cluster.fork();
  };
  cluster.on('listening', (worker) => listening.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
      return;
    }
    if (!listening.has(worker.id)) {
      // A worker that cannot even start (the port is taken, say) would fail the same way forever.
      log.fatal({ pid: worker.process.pid, code, signal }, 'a worker failed to start; stopping');
      stop('SIGTERM');
      process.exitCode = 1;
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, 1000);
  });
  function stop(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    const remaining = Object.values(cluster.workers ?? {});
    if (remaining.length === 0) process.exit();
    for (const worker of remaining) worker?.process.kill('SIGTERM');
    // Workers bound their own shutdown; this is only a backstop against one that hangs.
    setTimeout(() => process.exit(1), shutdownTimeoutMs + 20_000).unref();
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers }, 'started workers');
}
