/**
 * A kubelet (and kube-proxy) stand-in for the local stack, which has an API server and controller manager but
 * no node. It registers a Node, binds to it the pending pods the operator's workloads create (the migration
 * Job's and the API Deployment's, found by the operator's labels), runs each pod's container as a host process,
 * and writes the pod status a kubelet would. The real Job, ReplicaSet and Deployment controllers turn that into
 * Job completion and Deployment availability, so the operator's conditions move exactly as in a cluster, and a
 * changed pod template (config hash) rolls out as new pods: new processes start before the old ones stop.
 *
 * What differs from a pod, on purpose and nowhere else:
 * - Files: Secret and ConfigMap volumes are written under <stateDir>/pods/<pod>/volumes/<volume>, claims are
 *   directories under <stateDir>/claims/<namespace>/<claim> (kept across pods), emptyDirs per pod. Projected
 *   (service-account token) and other volumes are not materialised: the API server does not read them.
 * - Paths: each volumeMount's mountPath, and the image's workdir /app (this repository's root, whose
 *   dist/ holds the build the image would carry), map to those host directories. The mapping is applied to
 *   the container's args and workingDir, and to `key = /path` (or file:///path) values of mounted *.conf
 *   files; e.g. `--config-file /etc/glance/glance-api.conf` → <pod>/volumes/config/glance-api.conf and
 *   `rbd_store_ceph_conf = /etc/ceph/ceph.conf` → <pod>/volumes/ceph/ceph.conf. A ceph.conf mounted at
 *   /etc/ceph also gets a `keyring` line naming the mounted keyring, which librados would find in /etc/ceph.
 * - Network: each pod listens on its own free loopback port (GLANCE_DEFAULT__BIND_HOST/BIND_PORT, the
 *   api-server's env overrides); each Service named in `services` gets a fixed loopback port forwarding to
 *   its ready pods. Keystone endpoints for a local run are therefore http://127.0.0.1:<service port>.
 * - Probes: readiness httpGet/tcpSocket probes run (every second until ready); liveness probes do not.
 *
 * On stop, the processes are stopped, the runner's pods deleted (their controllers make new Pending ones)
 * and the Node removed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
  type V1Pod,
} from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { MANAGED_SELECTOR } from '../../operator/src/glance/names.js';
import { ResilientInformer } from '../../operator/src/runtime/informer.js';
import { describeKubeError, isConflict, isNotFound } from '../../operator/src/runtime/kube-errors.js';
import { LocalPod } from './local-runner/local-pod.js';
import { PodConfigError } from './local-runner/pod-files.js';
import { ServiceProxy } from './local-runner/service-proxy.js';

export interface LocalRunnerOptions {
  kubeConfig: KubeConfig;
  /** Run pods of this namespace only; default all. */
  namespace?: string;
  /** Which pending pods this node takes; default the operator's managed-by label. */
  labelSelector?: string;
  /** `namespace/name` of a Service → the loopback port that serves it. */
  services?: Record<string, number>;
  /** Where pod files, claims and logs go; default a new temporary directory, removed on stop. */
  stateDir?: string;
  nodeName?: string;
  /** The repository whose dist/ the image's /app stands for; default the one holding this file. */
  repoRoot?: string;
  log?: Logger;
}

export interface LocalRunner {
  readonly nodeName: string;
  readonly stateDir: string;
  stop(): Promise<void>;
}

const IMAGE_WORKDIR = '/app';
const NODE_LABEL = 'glance.stackops.dev/local-runner';
const MAX_GRACE_MS = 30_000;

export function findRepoRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'glance-operator'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no glance-operator checkout above ${from}`);
  }
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const time = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

async function registerNode(core: CoreV1Api, name: string): Promise<void> {
  try {
    await core.createNode({ body: { metadata: { name, labels: { [NODE_LABEL]: 'true' } } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  // The node lifecycle controller is off in the stack, so one Ready condition stays true without heartbeats.
  await core.patchNodeStatus(
    {
      name,
      body: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'LocalRunnerReady',
              message: 'pods run as local processes',
              lastHeartbeatTime: time(),
              lastTransitionTime: time(),
            },
          ],
          addresses: [
            { type: 'InternalIP', address: '127.0.0.1' },
            { type: 'Hostname', address: hostname() },
          ],
          capacity: { cpu: '2', memory: '4Gi', pods: '110' },
          allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        },
      },
    },
    mergePatch,
  );
}

export async function startLocalRunner(opts: LocalRunnerOptions): Promise<LocalRunner> {
  const log = opts.log ?? pino({ base: { component: 'local-runner' } });
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const repoRoot = opts.repoRoot ?? findRepoRoot();
  if (!existsSync(path.join(repoRoot, 'dist/api-server/src/main.js'))) {
    throw new Error(`${repoRoot}/dist has no api-server: run \`npm run build\` first`);
  }
  const ownsStateDir = !opts.stateDir;
  const stateDir = opts.stateDir ?? (await mkdtemp(path.join(tmpdir(), 'glance-local-runner-')));
  const nodeName =
    opts.nodeName ??
    `local-runner-${hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')}-${process.pid}`;
  const selector = opts.labelSelector ?? MANAGED_SELECTOR;
  const pods = new Map<string, LocalPod>();
  const chains = new Map<string, Promise<void>>();
  const statusWrites = new Map<string, { running: boolean; again: boolean }>();
  let stopping = false;

  await registerNode(core, nodeName);

  const writeStatus = (local: LocalPod): void => {
    const entry = statusWrites.get(local.uid) ?? { running: false, again: false };
    statusWrites.set(local.uid, entry);
    if (entry.running) {
      entry.again = true;
      return;
    }
    entry.running = true;
    void (async () => {
      do {
        entry.again = false;
        try {
          await core.patchNamespacedPodStatus(
            { namespace: local.namespace, name: local.name, body: { status: local.status() } },
            mergePatch,
          );
        } catch (err) {
          if (!isNotFound(err))
            log.warn({ pod: local.name, err: describeKubeError(err) }, 'pod status write failed');
        }
      } while (entry.again);
      entry.running = false;
    })();
  };

  const stopPod = async (uid: string, graceMs: number): Promise<void> => {
    const local = pods.get(uid);
    if (!local) return;
    pods.delete(uid);
    await local.stop(Math.min(graceMs, MAX_GRACE_MS));
    log.info({ pod: `${local.namespace}/${local.name}` }, 'pod stopped');
  };

  const sync = async (pod: V1Pod): Promise<void> => {
    const meta = pod.metadata ?? {};
    const ref = { namespace: meta.namespace ?? '', name: meta.name ?? '' };
    const uid = meta.uid ?? '';
    if (!pod.spec?.nodeName) {
      if (meta.deletionTimestamp || stopping) return;
      try {
        await core.createNamespacedPodBinding({
          ...ref,
          body: { metadata: { name: ref.name }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
        });
        log.info({ pod: `${ref.namespace}/${ref.name}`, node: nodeName }, 'pod bound');
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
      return;
    }
    if (pod.spec.nodeName !== nodeName) return;
    if (meta.deletionTimestamp) {
      await stopPod(uid, (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
      // The kubelet ends a graceful deletion once its containers are gone.
      await core
        .deleteNamespacedPod({ ...ref, gracePeriodSeconds: 0, body: { preconditions: { uid } } })
        .catch((err: unknown) => {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        });
      return;
    }
    if (pods.has(uid) || stopping) return;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    let local: LocalPod;
    try {
      local = new LocalPod(pod, {
        core,
        stateDir,
        imageMappings: [{ podPath: IMAGE_WORKDIR, hostPath: repoRoot }],
        log,
        changed: writeStatus,
      });
    } catch (err) {
      if (!(err instanceof PodConfigError)) throw err;
      await core.patchNamespacedPodStatus(
        { ...ref, body: { status: { phase: 'Failed', reason: 'Unsupported', message: err.message } } },
        mergePatch,
      );
      return;
    }
    pods.set(uid, local);
    local.start();
  };

  /** One pod's events are handled in order; different pods concurrently. */
  const enqueue = (uid: string, work: () => Promise<void>): void => {
    const previous = chains.get(uid) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((err: unknown) => log.warn({ uid, err: describeKubeError(err) }, 'pod sync failed'));
    chains.set(uid, next);
    void next.then(() => {
      if (chains.get(uid) === next) chains.delete(uid);
    });
  };

  const ns = opts.namespace;
  const informer = new ResilientInformer<V1Pod>(
    opts.kubeConfig,
    {
      description: 'pods',
      path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods',
      labelSelector: selector,
      list: async () =>
        (ns
          ? await core.listNamespacedPod({ namespace: ns, labelSelector: selector })
          : await core.listPodForAllNamespaces({ labelSelector: selector })) as KubernetesListObject<V1Pod>,
    },
    {
      add: (pod) => enqueue(pod.metadata?.uid ?? '', () => sync(pod)),
      update: (pod) => enqueue(pod.metadata?.uid ?? '', () => sync(pod)),
      delete: (pod) => enqueue(pod.metadata?.uid ?? '', () => stopPod(pod.metadata?.uid ?? '', 5000)),
    },
    log,
  );

  const proxies: ServiceProxy[] = [];
  for (const [key, port] of Object.entries(opts.services ?? {})) {
    const [svcNamespace = '', svcName = ''] = key.split('/');
    const proxy = new ServiceProxy(core, svcNamespace, svcName, port, () => [...pods.values()], log);
    await proxy.start();
    proxies.push(proxy);
  }
  await informer.start();
  log.info({ node: nodeName, namespace: ns ?? '(all)', stateDir }, 'local runner started');

  return {
    nodeName,
    stateDir,
    async stop() {
      stopping = true;
      await informer.stop();
      await Promise.all(proxies.map((p) => p.stop()));
      const running = [...pods.values()].filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed');
      await Promise.all([...pods.keys()].map((uid) => stopPod(uid, 10_000)));
      await Promise.all([...chains.values()]);
      // Like draining the node: the controllers replace these pods with Pending ones a later runner can take.
      for (const p of running) {
        await core
          .deleteNamespacedPod({ namespace: p.namespace, name: p.name, gracePeriodSeconds: 0 })
          .catch(() => undefined);
      }
      await core.deleteNode({ name: nodeName }).catch(() => undefined);
      if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
      log.info({ node: nodeName }, 'local runner stopped');
    },
  };
}
