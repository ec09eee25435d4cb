import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadAllYaml, type KubernetesObject, type V1Lease } from '@kubernetes/client-node';
import { loadStackEnv } from '../../harness/stack-env.js';
import type { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';
import {
  applyGlanceService,
  condition,
  createNamespace,
  deleteNamespace,
  getGlanceService,
  installCrd,
  suffix,
  testKube,
  waitFor,
} from './support.js';

// The built operator, as a container runs it (`npm run test:integration` builds first).
const MAIN = new URL('../../../dist/operator/src/main.js', import.meta.url).pathname;
const ns = `glance-main-${suffix()}`;
let kube: KubeApiClient;
let child: ChildProcess | undefined;
let output = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  kube = testKube();
  await installCrd(kube);
  await createNamespace(kube, ns);
});

afterAll(async () => {
  child?.kill('SIGKILL');
  if (kube) await deleteNamespace(kube, ns);
});

describe('the operator process', () => {
  it('leads, serves health and metrics, reconciles, and shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: loadStackEnv().KUBECONFIG,
        WATCH_NAMESPACE: ns,
        POD_NAMESPACE: ns,
        HEALTH_ADDRESS: '127.0.0.1',
        HEALTH_PORT: String(port),
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;

    await waitFor('/readyz', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
    await waitFor('the lease', async () => {
      const lease = await kube.coordination.readNamespacedLease({
        name: 'glance-operator-leader',
        namespace: ns,
      });
      return (lease as V1Lease).spec?.holderIdentity?.endsWith(`_${child?.pid}`);
    });
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok\n');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('glance_operator_leader{lease="glance-operator-leader"} 1');
    expect(metrics).toContain('# TYPE glance_operator_reconcile_duration_seconds histogram');

    // Reconciling needs no external system for a spec it must refuse.
    await applyGlanceService(kube, ns, 'bad', {
      image: 'x',
      database: { host: 'db', adminSecretRef: { name: 'db-admin' } },
      keystone: { authUrl: 'http://keystone:5000/v3', adminSecretRef: { name: 'keystone-admin' } },
      store: { backends: ['rbd'] },
    });
    const gs = await waitFor('Stalled', async () => {
      const gs = await getGlanceService(kube, ns, 'bad');
      return condition(gs, 'Stalled') ? gs : undefined;
    });
    expect(condition(gs, 'Stalled')?.reason).toBe('InvalidSpec');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lease = await kube.coordination.readNamespacedLease({
      name: 'glance-operator-leader',
      namespace: ns,
    });
    expect(lease.spec?.holderIdentity).toBe('');
    // pino JSON, one object a line.
    const lines = output.trim().split('\n');
    expect(lines.every((l) => typeof (JSON.parse(l) as { level: number }).level === 'number')).toBe(true);
    expect(output).toContain('"msg":"controller stopped"');
  });

  it.each(['glanceservice.yaml', 'operator.yaml'])(
    'samples/%s is accepted by the API server',
    async (file) => {
      const objects = loadAllYaml(
        readFileSync(new URL(`../../../samples/${file}`, import.meta.url), 'utf8'),
      ) as KubernetesObject[];
      expect(objects.length).toBeGreaterThan(0);
      for (const obj of objects) {
        if (obj.metadata && !obj.kind?.startsWith('Cluster')) obj.metadata.namespace = ns;
        await kube.objects.create(obj, undefined, 'All');
      }
    },
  );
});
