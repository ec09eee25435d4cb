import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { loadStackEnv } from '../../harness/stack-env.js';
import type { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';
import {
  addressAndPort,
  applyGlanceService,
  cephMonHost,
  condition,
  createAdminSecrets,
  createNamespace,
  deleteNamespace,
  getGlanceService,
  suffix,
  testKube,
  waitFor,
} from '../operator/support.js';
import { CHART, helm } from './tools.js';

// The chart installed into the stack's kube-apiserver, then the built operator run as a process with the
// credentials of the chart's ServiceAccount: the RBAC the chart grants is what the operator needs.
const MAIN = new URL('../../../dist/operator/src/main.js', import.meta.url).pathname;
const sfx = suffix();
const release = `glance-operator-${sfx}`;
const opsNs = `glance-chart-${sfx}`;
const watchedNs = `glance-chart-w-${sfx}`;
const env = loadStackEnv();
let kube: KubeApiClient;
let operator: ChildProcess | undefined;
let output = '';
let workDir = '';

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  kube = testKube();
  workDir = mkdtempSync(path.join(tmpdir(), 'glance-chart-'));
  await createNamespace(kube, watchedNs);
});

afterAll(async () => {
  operator?.kill('SIGKILL');
  await helm('uninstall', release, '--namespace', opsNs);
  if (kube) {
    await deleteNamespace(kube, watchedNs);
    await kube.core.deleteNamespace({ name: opsNs }).catch(() => undefined);
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** A kubeconfig that authenticates as the ServiceAccount, with a token from the TokenRequest API. */
async function serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
  const request = await kube.core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const admin = kube.config.getCurrentCluster();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'stack', server: admin?.server ?? '', caData: admin?.caData, skipTLSVerify: false }],
    users: [{ name, token: request.status?.token }],
    contexts: [{ name: 'sa', cluster: 'stack', user: name }],
    currentContext: 'sa',
  });
  const file = path.join(workDir, 'sa.kubeconfig');
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

describe('helm install into the local kube-apiserver', () => {
  it('creates the Deployment the chart promises, and its RBAC lets the operator do its whole job', async () => {
    const installed = await helm(
      'install',
      release,
      CHART,
      '--namespace',
      opsNs,
      '--create-namespace',
      '--set',
      `watchNamespace=${watchedNs}`,
      '--set',
      'image.tag=e2e',
    );
    expect(installed.stderr).not.toMatch(/error/i);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain(
      `It reconciles GlanceServices and Images in namespace ${watchedNs} only`,
    );

    const deployment = (await kube.read<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: opsNs,
      name: release,
    })) as V1Deployment;
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers[0];
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'Helm' });
    expect(pod?.serviceAccountName).toBe(release);
    expect(container?.image).toBe('registry.example.com/glance-operator:e2e');
    expect(container?.command).toEqual(['node', 'dist/operator/src/main.js']);
    expect(container?.env).toEqual(
      expect.arrayContaining([
        { name: 'WATCH_NAMESPACE', value: watchedNs },
        { name: 'LEADER_ELECT', value: 'true' },
      ]),
    );
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true);

    // The operator as the Deployment would run it, but with the ServiceAccount's own credentials.
    operator = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: await serviceAccountKubeconfig(opsNs, release),
        WATCH_NAMESPACE: watchedNs,
        POD_NAMESPACE: opsNs,
        HEALTH_ADDRESS: '127.0.0.1',
        HEALTH_PORT: '0',
        RESYNC_SECONDS: '5',
        STALLED_RETRY_SECONDS: '3',
        LOG_LEVEL: 'debug',
        // The stack's Keystone is on loopback, which the URL policy refuses unless allowed.
        URL_POLICY_ALLOW: addressAndPort(env.OS_AUTH_URL ?? ''),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
    operator.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));

    await createAdminSecrets(kube, watchedNs);
    const n = `chart_${sfx}`;
    await applyGlanceService(kube, watchedNs, 'glance', {
      image: 'registry.example.com/glance-operator:e2e',
      deletionPolicy: 'Delete',
      endpoints: { public: 'http://127.0.0.1:19293' },
      database: {
        host: env.DB_HOST,
        port: Number(env.DB_PORT),
        name: `glance_${n}`,
        user: `glance_${n}`,
        adminSecretRef: { name: 'db-admin' },
      },
      keystone: {
        authUrl: env.OS_AUTH_URL,
        region: `RegionChart-${sfx}`,
        adminSecretRef: { name: 'keystone-admin' },
        userName: `glance-chart-${sfx}`,
        serviceName: `glance-chart-${sfx}`,
      },
      ceph: {
        monHost: cephMonHost(),
        adminSecretRef: { name: 'ceph-admin' },
        pool: `images-chart-${sfx}`,
        pgNum: 8,
        user: `glance-chart-${sfx}`,
      },
      store: { backends: ['rbd', 'file'] },
    });
    const gs = await waitFor(
      'every step up to the migration Job',
      async () => {
        const gs = await getGlanceService(kube, watchedNs, 'glance');
        return condition(gs, 'DeploymentReady')?.reason === 'MigrationPending' ? gs : undefined;
      },
      180_000,
    );
    for (const type of ['DatabaseReady', 'KeystoneReady', 'CephReady', 'ConfigReady']) {
      expect(condition(gs, type)?.status).toBe('True');
    }
    const lease = await kube.coordination.readNamespacedLease({
      namespace: opsNs,
      name: 'glance-operator-leader',
    });
    expect(lease.spec?.holderIdentity).toMatch(new RegExp(`_${operator.pid}$`));

    // An Image of that GlanceService, which cannot be served yet: the Image controller still reads it, writes its
    // status and finalizer, and lets it go, all as the ServiceAccount.
    const imageType = {
      group: 'glance.stackops.dev',
      version: 'v1alpha1',
      plural: 'images',
      namespace: watchedNs,
    };
    await kube.custom.createNamespacedCustomObject({
      ...imageType,
      body: {
        apiVersion: 'glance.stackops.dev/v1alpha1',
        kind: 'Image',
        metadata: { name: 'cirros' },
        spec: {
          glanceServiceRef: { name: 'glance' },
          // Nothing in Glance to clean up after: the GlanceService never serves here.
          deletionPolicy: 'Orphan',
          diskFormat: 'qcow2',
          source: { url: 'http://127.0.0.1:9/cirros.qcow2' },
        },
      },
    });
    const phase = await waitFor('the Image to have a phase', async () => {
      const image = (await kube.custom.getNamespacedCustomObject({ ...imageType, name: 'cirros' })) as {
        status?: { phase?: string };
      };
      return image.status?.phase;
    });
    expect(phase).not.toBe('Ready');
    await kube.custom.deleteNamespacedCustomObject({ ...imageType, name: 'cirros' });
    await waitFor('the Image to be gone', async () =>
      kube.custom.getNamespacedCustomObject({ ...imageType, name: 'cirros' }).then(
        () => false,
        () => true,
      ),
    );

    // Deletion with deletionPolicy Delete: the claim goes and the finalizer is removed, as the ServiceAccount.
    await kube.custom.deleteNamespacedCustomObject({
      group: 'glance.stackops.dev',
      version: 'v1alpha1',
      plural: 'glanceservices',
      namespace: watchedNs,
      name: 'glance',
    });
    await waitFor(
      'the GlanceService to be gone',
      async () => !(await getGlanceService(kube, watchedNs, 'glance')),
    );
    expect(output).not.toMatch(/forbidden/i);
    expect(output).toContain('"msg":"leading; starting the controller"');

    operator.kill('SIGTERM');
    await new Promise((resolve) => operator?.once('exit', resolve));

    const uninstalled = await helm('uninstall', release, '--namespace', opsNs);
    expect(uninstalled.code).toBe(0);
    expect(
      await kube.read({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: opsNs, name: release }),
    ).toBeUndefined();
    expect(
      await kube.read({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        namespace: watchedNs,
        name: release,
      }),
    ).toBeUndefined();
  });
});
