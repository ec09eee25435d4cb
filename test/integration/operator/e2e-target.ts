import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { z } from 'zod';
import { IMAGES_DIR } from '../../../operator/src/glance/render-config.js';
import { API_PORT, objectNames } from '../../../operator/src/glance/names.js';
import { proxyService } from '../../harness/api-server-proxy.js';
import { freePort } from '../../harness/local-runner/container-process.js';
import { startLocalRunner } from '../../harness/local-runner.js';
import { run } from '../../harness/run.js';
import { stackValue } from '../../harness/stack-env.js';
import { kubeConfig, startOperator } from './support.js';

/**
 * Where the end-to-end suite runs. `local` (the default): the operator in this process and the local runner
 * as the kubelet, against the stack's kube-apiserver. `kind` (test/kind/run.sh): the chart's operator and real
 * pods in a kind cluster; this process only applies objects and looks. Only the bring-up differs.
 */
const e2eEnv = z.discriminatedUnion('E2E_TARGET', [
  z.object({ E2E_TARGET: z.literal('local') }),
  z.object({
    E2E_TARGET: z.literal('kind'),
    E2E_KUBECONFIG: z.string().min(1),
    E2E_IMAGE: z.string().min(1),
    /** The host's address as the pods see it: MariaDB, Keystone, Ceph and the test's HTTP servers. */
    E2E_STACK_HOST: z.string().min(1),
    E2E_OPERATOR_NAMESPACE: z.string().min(1).default('glance-operator'),
    E2E_OPERATOR_RELEASE: z.string().min(1).default('glance-operator'),
  }),
]);

export const E2E = e2eEnv.parse({ ...process.env, E2E_TARGET: process.env.E2E_TARGET ?? 'local' });

/** The address the pods (and the operator) reach this machine at. */
export const STACK_HOST = E2E.E2E_TARGET === 'kind' ? E2E.E2E_STACK_HOST : '127.0.0.1';

/** A stack URL or address as seen from the pods. */
export const fromPods = (value: string): string => value.replaceAll('127.0.0.1', STACK_HOST);

export function e2eKubeConfig(): KubeConfig {
  if (E2E.E2E_TARGET === 'local') return kubeConfig();
  const kc = new KubeConfig();
  kc.loadFromFile(E2E.E2E_KUBECONFIG);
  return kc;
}

export interface E2eBringUp {
  /** The API Service as the Keystone catalog's public endpoint shows it to users of this machine. */
  readonly serviceUrl: string;
  /** spec.endpoints for the GlanceService, and what its status reports for them. */
  readonly endpoints: Record<string, string>;
  readonly expectedEndpoints: Record<string, string>;
  /** The container image of the GlanceService's pods. */
  readonly image: string;
  /** The operator's counters: GlanceService reconciles, and writes by system. */
  reconciles(): Promise<number>;
  writes(system: string): Promise<number>;
  /** The path an image's file has in the images claim (direct_url), and its size there. */
  claimPath(imageId: string): string;
  claimFileSize(imageId: string): Promise<number>;
  /** What the runner and the pods said, for failures. */
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

export async function startE2e(namespace: string, glanceService: string): Promise<E2eBringUp> {
  const names = objectNames(glanceService);
  const apiService = names.api;
  if (E2E.E2E_TARGET === 'local') {
    const serviceUrl = `http://127.0.0.1:${await freePort()}`;
    const operator = await startOperator(namespace, { images: true });
    let runnerLogs = '';
    const runner = await startLocalRunner({
      kubeConfig: kubeConfig(),
      namespace,
      services: { [`${namespace}/${apiService}`]: Number(new URL(serviceUrl).port) },
      log: pino(
        { level: 'debug' },
        new Writable({
          write(chunk: Buffer, _e, done) {
            runnerLogs += chunk.toString('utf8');
            done();
          },
        }),
      ),
    });
    const claimDir = path.join(runner.stateDir, 'claims', namespace, names.imagesClaim);
    const endpoints = { public: serviceUrl, internal: serviceUrl, admin: serviceUrl };
    return {
      serviceUrl,
      endpoints,
      expectedEndpoints: endpoints,
      image: 'glance-operator/glance-api:test',
      reconciles: () => Promise.resolve(operator.reconciles()),
      writes: (system) => Promise.resolve(operator.writes(system)),
      claimPath: (id) => path.join(claimDir, id),
      claimFileSize: async (id) => (await stat(path.join(claimDir, id))).size,
      logs: async () => {
        const dir = path.join(runner.stateDir, 'logs');
        const files = await readdir(dir).catch(() => []);
        const pods = await Promise.all(
          files.map(async (f) => `--- ${f}\n${(await readFile(path.join(dir, f), 'utf8')).slice(-3000)}`),
        );
        return `--- runner\n${runnerLogs.slice(-4000)}\n${pods.join('\n')}`;
      },
      stop: async () => {
        await runner.stop();
        await operator.stop();
      },
    };
  }

  const kind = E2E;
  const kc = e2eKubeConfig();
  const api = await proxyService(kc, { namespace, name: apiService, port: 'api' });
  const metrics = await proxyService(kc, {
    namespace: kind.E2E_OPERATOR_NAMESPACE,
    name: `${kind.E2E_OPERATOR_RELEASE}-metrics`,
    port: 'metrics',
  });
  const scrape = async () => (await fetch(`${metrics.url}/metrics`)).text();
  const kubectl = (args: string[]) =>
    run(stackValue('KUBECTL'), ['--kubeconfig', kind.E2E_KUBECONFIG, '-n', namespace, ...args]);
  const apiPod = `deployment/${apiService}`;
  const clusterUrl = `http://${apiService}.${namespace}.svc:${API_PORT}`;
  return {
    serviceUrl: api.url,
    // In the cluster, the operator and other pods use the Service's own URL.
    endpoints: { public: api.url },
    expectedEndpoints: {
      public: api.url,
      internal: clusterUrl,
      admin: clusterUrl,
    },
    image: kind.E2E_IMAGE,
    reconciles: async () =>
      sumSamples(await scrape(), 'glance_operator_reconcile_total', { controller: 'glanceservice' }),
    writes: async (system) => sumSamples(await scrape(), 'glance_operator_writes_total', { system }),
    claimPath: (id) => path.join(IMAGES_DIR, id),
    claimFileSize: async (id) =>
      Number((await kubectl(['exec', apiPod, '--', 'stat', '-c', '%s', path.join(IMAGES_DIR, id)])).stdout),
    logs: async () => {
      const logs = await kubectl([
        'logs',
        '--all-containers',
        '--tail=100',
        '-l',
        'app.kubernetes.io/instance',
      ]);
      return logs.stdout;
    },
    stop: async () => {
      await api.stop();
      await metrics.stop();
    },
  };
}
