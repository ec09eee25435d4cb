import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { CONTROLLER_NAME, FIELD_MANAGER } from './api/operator-identity.js';
import { createGlanceController } from './glance-service/glance-controller.js';
import { createImageController } from './image/image-controller.js';
import { apiServerAddresses, UrlPolicy } from './net/url-policy.js';
import { loadOptions } from './options.js';
import { KubeEventRecorder } from './runtime/events.js';
import { boundPort, startHealthServer } from './runtime/health-server.js';
import { KubeApiClient } from './runtime/kube-client.js';
import { LeaderElector, DEFAULT_LEADER_TIMINGS } from './runtime/leader-election.js';
import { createOperatorMetrics } from './runtime/operator-metrics.js';
import { NO_FENCE } from './runtime/write-fence.js';

// node dist/operator/src/main.js — KUBECONFIG (or ~/.kube/config) outside a cluster, the service account inside.
async function main(): Promise<number> {
  const opts = loadOptions(process.env);
  const log = pino({ level: opts.LOG_LEVEL, base: { component: 'glance-operator' } });
  const config = new KubeConfig();
  config.loadFromDefault();
  const metrics = createOperatorMetrics();
  const elector = opts.LEADER_ELECT
    ? new LeaderElector(
        config.makeApiClient(CoordinationV1Api),
        {
          namespace: opts.leaseNamespace,
          leaseName: opts.LEASE_NAME,
          identity: opts.identity,
          ...DEFAULT_LEADER_TIMINGS,
        },
        metrics,
        log,
      )
    : undefined;
  // Every write of the reconcilers and of Events asks the elector first: none is sent unless this process
  // renewed the lease less than the renew deadline ago.
  const kube = new KubeApiClient(config, metrics, FIELD_MANAGER, elector ?? NO_FENCE);
  const events = new KubeEventRecorder(kube, CONTROLLER_NAME, opts.identity, log);
  // What both controllers share: clients, the watched namespace, resync and retry timings.
  const shared = {
    kube,
    events,
    metrics,
    log,
    namespace: opts.WATCH_NAMESPACE,
    resyncMs: opts.RESYNC_SECONDS * 1000,
    stalledRetryMs: opts.STALLED_RETRY_SECONDS * 1000,
    deletionTimeoutMs: opts.DELETION_TIMEOUT_SECONDS * 1000,
    workers: opts.WORKERS,
    fence: elector ?? NO_FENCE,
  };
  // The kube-apiserver is refused as a source or endpoint whatever the settings' ranges say: its address is
  // where the operator's own credentials go.
  const urlPolicy = new UrlPolicy(opts, await apiServerAddresses(config.getCurrentCluster()?.server));
  const controller = createGlanceController({ ...shared, urlPolicy });
  const images = createImageController({
    ...shared,
    urlPolicy,
    maxTransfers: opts.IMAGE_TRANSFERS,
    progressMs: opts.IMAGE_PROGRESS_SECONDS * 1000,
  });
  const startControllers = () => Promise.all([controller.start(), images.controller.start()]);

  const health = await startHealthServer(
    opts.HEALTH_PORT,
    opts.HEALTH_ADDRESS,
    {
      live: () => true,
      // A candidate waiting for the lease is healthy and ready; the leader is ready once its caches are.
      ready: () =>
        elector && !elector.isLeader ? true : controller.hasSynced && images.controller.hasSynced,
    },
    metrics.registry,
  );
  log.info(
    { address: opts.HEALTH_ADDRESS, port: boundPort(health) },
    'serving /healthz, /readyz and /metrics',
  );

  const shutdown = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      shutdown.abort();
    });
  }
  const stopped = new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve()));

  if (elector) {
    log.info(
      { lease: `${opts.leaseNamespace}/${opts.LEASE_NAME}`, identity: opts.identity },
      'waiting for leadership',
    );
    if (await elector.acquire(shutdown.signal)) {
      // Once the lease is lost another process may lead soon: no reconcile may go on, not even during a
      // graceful shutdown. Each is safe to cut at any line, so the process exits at once and its pod restarts.
      elector.leadership.addEventListener('abort', () => {
        if (elector.leadership.reason !== 'lost') return;
        images.transfers.cancelAll();
        log.error('exiting: reconciles in flight are abandoned');
        process.exit(1);
      });
      log.info('leading; starting the controller');
      void startControllers();
    }
  } else {
    await Promise.race([startControllers(), stopped]);
  }
  await stopped;

  // Reconciles in flight finish (each is safe to cut short, but finishing avoids needless retries); the lease
  // is renewed meanwhile, so no successor starts before they are done or the process has exited.
  const timeout = setTimeout(() => {
    log.error('shutdown timed out; exiting with reconciles still running');
    process.exit(1);
  }, opts.SHUTDOWN_TIMEOUT_SECONDS * 1000);
  timeout.unref();
  await Promise.all([controller.stop(), images.stop()]);
  await elector?.release();
  await new Promise((resolve) => health.close(resolve));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`glance-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
