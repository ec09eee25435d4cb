import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { CHART, findManifest, helm, renderChart, type Manifest } from './tools.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Container {
  name: string;
  image: string;
  command: string[];
  workingDir: string;
  env: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
}
type Deployment = Manifest & {
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName: string;
        securityContext: Record<string, unknown>;
        containers: Container[];
      };
    };
  };
};

const chartMeta = parse(readFileSync(`${CHART}/Chart.yaml`, 'utf8')) as { appVersion: string };
const rulesOf = (m: Manifest | undefined) => (m as { rules?: Rule[] } | undefined)?.rules ?? [];

/** resource → verbs, merged over rules (resourceNames-restricted rules marked with the names). */
function permissions(rules: Rule[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rules) {
    for (const g of r.apiGroups) {
      for (const res of r.resources) {
        const key = `${g === '' ? 'core' : g}/${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}`;
        out[key] = [...new Set([...(out[key] ?? []), ...r.verbs])].sort();
      }
    }
  }
  return out;
}

// What the operator calls (operator/src: informers list+watch the primaries and what they own; writes are
// server-side apply (create+patch), createIfAbsent, merge patches of finalizers, JSON patches of status).
const OPERATOR_PERMISSIONS = {
  'glance.stackops.dev/glanceservices': ['get', 'list', 'patch', 'watch'],
  'glance.stackops.dev/images': ['get', 'list', 'patch', 'watch'],
  'glance.stackops.dev/glanceservices/status': ['patch'],
  'glance.stackops.dev/images/status': ['patch'],
  'glance.stackops.dev/glanceservices/finalizers': ['update'],
  'glance.stackops.dev/images/finalizers': ['update'],
  'core/secrets': ['create', 'get', 'list', 'patch', 'watch'],
  'core/services': ['create', 'get', 'list', 'patch', 'watch'],
  'core/configmaps': ['get'],
  'core/namespaces': ['get'],
  'core/persistentvolumeclaims': ['create', 'delete', 'get', 'patch'],
  'apps/deployments': ['create', 'get', 'list', 'patch', 'watch'],
  'batch/jobs': ['create', 'delete', 'get', 'list', 'watch'],
  'policy/poddisruptionbudgets': ['create', 'delete', 'get', 'list', 'patch', 'watch'],
  'events.k8s.io/events': ['create'],
};

describe('the Helm chart, rendered', () => {
  it('passes helm lint --strict', async () => {
    const res = await helm('lint', '--strict', CHART);
    expect(res.stderr + res.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(res.code).toBe(0);
  });

  it('grants cluster-wide exactly what the operator uses, and the Lease only by name in its namespace', async () => {
    const all = await renderChart({}, { namespace: 'ops' });
    const cluster = findManifest(all, 'ClusterRole');
    expect(permissions(rulesOf(cluster))).toEqual(OPERATOR_PERMISSIONS);
    for (const rule of all.flatMap((m) => rulesOf(m))) {
      expect([...rule.verbs, ...rule.resources, ...rule.apiGroups]).not.toContain('*');
    }
    const binding = findManifest(all, 'ClusterRoleBinding') as Manifest & {
      subjects: Array<{ kind: string; name: string; namespace: string }>;
      roleRef: { name: string };
    };
    expect(binding.roleRef.name).toBe(cluster?.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'glance-operator', namespace: 'ops' }]);

    const leader = all.find((m) => m.kind === 'Role');
    expect(leader?.metadata.namespace).toBe('ops');
    expect(permissions(rulesOf(leader))).toEqual({
      'coordination.k8s.io/leases': ['create'],
      'coordination.k8s.io/leases[glance-operator-leader]': ['get', 'update'],
    });
    expect(findManifest(all, 'ServiceMonitor')).toBeUndefined();
  });

  it('with watchNamespace, grants nothing cluster-wide: a Role in that namespace and WATCH_NAMESPACE', async () => {
    const all = await renderChart({ watchNamespace: 'tenant-a' }, { namespace: 'ops' });
    expect(all.filter((m) => m.kind.startsWith('Cluster'))).toEqual([]);
    const role = all.find((m) => m.kind === 'Role' && m.metadata.namespace === 'tenant-a');
    // Namespaces are cluster-scoped: a Role cannot grant them, and the operator does without.
    const { 'core/namespaces': _clusterScoped, ...inNamespace } = OPERATOR_PERMISSIONS;
    expect(permissions(rulesOf(role))).toEqual(inNamespace);
    const binding = all.find((m) => m.kind === 'RoleBinding' && m.metadata.namespace === 'tenant-a');
    expect((binding as { subjects?: unknown }).subjects).toEqual([
      { kind: 'ServiceAccount', name: 'glance-operator', namespace: 'ops' },
    ]);
    const deployment = findManifest(all, 'Deployment') as Deployment;
    expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({
      name: 'WATCH_NAMESPACE',
      value: 'tenant-a',
    });
  });

  it('runs the operator from the one image, as non-root, with probes and settings from the values', async () => {
    const all = await renderChart({ 'operator.logLevel': 'debug', replicaCount: '3' }, { release: 'glance' });
    const deployment = findManifest(all, 'Deployment') as Deployment;
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0] as Container;
    expect(deployment.spec.replicas).toBe(3);
    expect(c.image).toBe(`registry.example.com/glance-operator:${chartMeta.appVersion}`);
    expect(c.command).toEqual(['node', 'dist/operator/src/main.js']);
    expect(c.workingDir).toBe('/app');
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'LEADER_ELECT', value: 'true' },
        { name: 'LOG_LEVEL', value: 'debug' },
      ]),
    );
    expect(c.env.map((e) => e.name)).not.toContain('WATCH_NAMESPACE');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(pod.serviceAccountName).toBe(findManifest(all, 'ServiceAccount')?.metadata.name);
  });

  it('adds a ServiceMonitor on /metrics when asked', async () => {
    const all = await renderChart({ 'metrics.serviceMonitor.enabled': 'true' });
    const monitor = findManifest(all, 'ServiceMonitor') as Manifest & {
      spec: { endpoints: Array<{ port: string; path: string }> };
    };
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    const service = all.find((m) => m.kind === 'Service') as Manifest & {
      spec: { ports: Array<{ name: string }> };
    };
    expect(service.spec.ports.map((p) => p.name)).toEqual(['metrics']);
  });

  it('ships the CRDs of crds/ (helm template --include-crds)', async () => {
    const all = await renderChart({}, { extra: ['--include-crds'] });
    const crds = all.filter((m) => m.kind === 'CustomResourceDefinition').map((m) => m.metadata.name);
    const files = readdirSync(new URL('../../../crds/', import.meta.url)).map((f) =>
      f.replace(/\.yaml$/, ''),
    );
    expect(crds.sort()).toEqual(files.sort());
  });

  it.each([
    [{ replicaCount: '-1' }, 'replicaCount'],
    [{ 'operator.logLevel': 'loud' }, 'logLevel'],
    [{ 'image.pullPolicy': 'Sometimes' }, 'pullPolicy'],
    [{ watchNamespace: 'Not_A_Namespace' }, 'watchNamespace'],
    [{ 'operator.workers': '0' }, 'workers'],
    [{ replicas: '2' }, 'replicas'],
  ])('values.schema.json refuses %j, naming %s', async (set, field) => {
    await expect(renderChart(set)).rejects.toThrow(
      new RegExp(`values don't meet the specifications[\\s\\S]*${field}`),
    );
  });
});
