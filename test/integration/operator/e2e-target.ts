import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { IMAGES_DIR } from '../../../operator/src/glance-service/render-config.js';
import { API_PORT, objectNames } from '../../../operator/src/glance-service/names.js';
import { proxyService } from '../../harness/api-server-proxy.js';
import { installOperatorChart } from '../../harness/operator-chart.js';
import { run } from '../../harness/run.js';
import { loadStackEnv, stackValue } from '../../harness/stack-env.js';
import type { Names } from './services.js';
import { cephMonHost } from './support.js';

/**
 * Where the end-to-end suite runs: a cluster of real components, with the chart's operator and real pods.
 * `stack` (the default): the local stack's own one-node cluster (containerd, kubelet, kube-proxy, CoreDNS), its
 * image built by the stack. `kind` (test/kind/run.sh, where a Docker engine exists): a kind cluster, its kubeconfig,
 * image and the host's address as its pods see it given by E2E_*. Only these values differ.
 */
const e2eEnv = z
  .object({
    E2E_TARGET: z.enum(['stack', 'kind']).default('stack'),
    E2E_KUBECONFIG: z.string().min(1).optional(),
    E2E_IMAGE: z.string().min(1).optional(),
    /** The host's address as the pods see it: MariaDB, Keystone, Ceph and the test's HTTP servers. */
    E2E_STACK_HOST: z.string().min(1).optional(),
  })
  .refine(
    (e) => e.E2E_TARGET === 'stack' || (e.E2E_KUBECONFIG && e.E2E_IMAGE && e.E2E_STACK_HOST),
    'E2E_TARGET=kind needs E2E_KUBECONFIG, E2E_IMAGE and E2E_STACK_HOST',
  );

const env = e2eEnv.parse(process.env);

export const E2E = {
  target: env.E2E_TARGET,
  kubeconfig: env.E2E_KUBECONFIG ?? stackValue('KUBECONFIG'),
  image: env.E2E_IMAGE ?? stackValue('GLANCE_IMAGE'),
};

/** The address the pods (and the operator) reach this machine at. */
export const STACK_HOST = env.E2E_STACK_HOST ?? stackValue('POD_HOST_IP');

/** A stack URL or address as seen from the pods. */
export const fromPods = (value: string): string => value.replaceAll('127.0.0.1', STACK_HOST);

export function e2eKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(E2E.kubeconfig);
  return kc;
}

export interface E2eBringUp {
  /** The API Service as the Keystone catalog's public endpoint shows it to users of this machine. */
  readonly serviceUrl: string;
  /** The API Service as a client in the cluster reaches it: its cluster IP, through kube-proxy (on the stack's
   * cluster this machine routes Service addresses into the node; kind's are reached through the proxy). */
  directUrl(): Promise<string>;
  /** spec.endpoints for the GlanceService, and what its status reports for them. */
  readonly endpoints: Record<string, string>;
  readonly expectedEndpoints: Record<string, string>;
  /** The container image of the GlanceService's pods. */
  readonly image: string;
  /** The operator's counters: GlanceService reconciles, and writes by system (not the leader Lease's renewals,
   * which leader election makes every few seconds by design). */
  reconciles(): Promise<number>;
  writes(system: string): Promise<number>;
  /** The path an image's file has in the images claim (direct_url), and its size there. */
  claimPath(imageId: string): string;
  claimFileSize(imageId: string): Promise<number>;
  /** What the operator and the pods said, for failures. */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** Sums the samples of `name` whose labels include `labels`, in Prometheus' text format. */
function sumSamples(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export const OPERATOR_RELEASE = 'glance-operator';

/**
 * The chart installed into the test's namespace and watching only it, so the release (its Role, its Lease) goes
 * with the namespace and never reconciles another test's objects; the API Service and the operator's metrics
 * reached through the kube-apiserver's service proxy.
 */
export async function startE2e(
  namespace: string,
  glanceService: string,
  opts: { operatorReplicas?: number } = {},
): Promise<E2eBringUp> {
  const names = objectNames(glanceService);
  const apiService = names.api;
  const kc = e2eKubeConfig();
  await installOperatorChart({
    kubeconfig: E2E.kubeconfig,
    namespace,
    release: OPERATOR_RELEASE,
    image: E2E.image,
    watchNamespace: namespace,
    replicas: opts.operatorReplicas ?? 1,
    // The suite watches the operator re-read a Ready GlanceService and write nothing.
    resyncSeconds: 15,
  });
  const api = await proxyService(kc, { namespace, name: apiService, port: 'api' });
  const metrics = await proxyService(kc, {
    namespace,
    name: `${OPERATOR_RELEASE}-metrics`,
    port: 'metrics',
  });
  const scrape = async () => (await fetch(`${metrics.url}/metrics`)).text();
  const kubectl = (args: string[]) =>
    run(stackValue('KUBECTL'), ['--kubeconfig', E2E.kubeconfig, '-n', namespace, ...args]);
  const apiPod = `deployment/${apiService}`;
  const clusterUrl = `http://${apiService}.${namespace}.svc:${API_PORT}`;
  return {
    serviceUrl: api.url,
    directUrl: async () => {
      if (env.E2E_TARGET === 'kind') return api.url;
      const { stdout } = await kubectl(['get', 'service', apiService, '-o', 'jsonpath={.spec.clusterIP}']);
      return `http://${stdout.trim()}:${API_PORT}`;
    },
    // In the cluster, the operator and other pods use the Service's own URL.
    endpoints: { public: api.url },
    expectedEndpoints: {
      public: api.url,
      internal: clusterUrl,
      admin: clusterUrl,
    },
    image: E2E.image,
    reconciles: async () =>
      sumSamples(await scrape(), 'glance_operator_reconcile_total', { controller: 'glanceservice' }),
    writes: async (system) => {
      const text = await scrape();
      const all = sumSamples(text, 'glance_operator_writes_total', { system });
      return all - sumSamples(text, 'glance_operator_writes_total', { system, kind: 'Lease' });
    },
    claimPath: (id) => path.join(IMAGES_DIR, id),
    claimFileSize: async (id) =>
      Number((await kubectl(['exec', apiPod, '--', 'stat', '-c', '%s', path.join(IMAGES_DIR, id)])).stdout),
    logs: async () => {
      const logs = await kubectl([
        'logs',
        '--all-containers',
        '--prefix',
        '--tail=100',
        '-l',
        'app.kubernetes.io/instance',
      ]).catch((err: unknown) => ({ stdout: String(err) }));
      const pods = await kubectl(['get', 'pods,jobs,pvc,events', '-o', 'wide']).catch((err: unknown) => ({
        stdout: String(err),
      }));
      return `${pods.stdout}\n${logs.stdout}`;
    },
    stop: async () => {
      await api.stop();
      await metrics.stop();
    },
  };
}

/**
 * A GlanceService spec for the suite's pods: its own database, Keystone names and Ceph pool, this machine's
 * services at the address the pods reach, both stores (uploads go to file; the keyring and ceph.conf are mounted
 * because rbd is a backend), web-download allowed from the suite's source server.
 */
export function e2eGlanceServiceSpec(
  bringUp: E2eBringUp,
  names: Names,
  opts: {
    sourcePort: number;
    replicas?: number;
    /** Default: both, uploads to file. */
    store?: { backends: string[]; default: string };
    extraConfig?: Record<string, Record<string, string>>;
  },
) {
  const env = loadStackEnv();
  return {
    image: bringUp.image,
    deletionPolicy: 'Delete',
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
    endpoints: bringUp.endpoints,
    database: {
      host: fromPods(env.DB_HOST ?? ''),
      port: Number(env.DB_PORT),
      name: names.db,
      user: names.dbUser,
      adminSecretRef: { name: 'db-admin' },
    },
    keystone: {
      authUrl: fromPods(env.OS_AUTH_URL ?? ''),
      region: names.region,
      adminSecretRef: { name: 'keystone-admin' },
      userName: names.user,
      serviceName: names.service,
    },
    ceph: {
      monHost: fromPods(cephMonHost()),
      adminSecretRef: { name: 'ceph-admin' },
      pool: names.pool,
      pgNum: 8,
      user: names.cephUser,
    },
    store: opts.store ?? { backends: ['file', 'rbd'], default: 'file' },
    extraConfig: {
      import_filtering_opts: { allowed_hosts: `[${STACK_HOST}]`, allowed_ports: `[${opts.sourcePort}]` },
      ...opts.extraConfig,
    },
  };
}
