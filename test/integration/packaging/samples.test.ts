import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { kubectl, parseManifests, renderChart, findManifest } from './tools.js';
import { createNamespace, deleteNamespace, installCrd, suffix, testKube } from '../operator/support.js';
import type { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';

// Every file of samples/ applied (server-side, dry run) to the real kube-apiserver, in a namespace of its own.
const SAMPLES = new URL('../../../samples/', import.meta.url).pathname;
const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml'));
const ns = `glance-samples-${suffix()}`;
let kube: KubeApiClient;
let dir = '';

beforeAll(async () => {
  kube = testKube();
  dir = mkdtempSync(path.join(tmpdir(), 'glance-samples-'));
  await installCrd(kube);
  const crds = new URL('../../../crds/', import.meta.url).pathname;
  const res = await kubectl('apply', '--server-side', '--force-conflicts', '-f', crds);
  if (res.code !== 0) throw new Error(res.stderr);
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all');
  await createNamespace(kube, ns);
});
afterAll(async () => {
  if (kube) await deleteNamespace(kube, ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('samples/', () => {
  it('has the GlanceService, the Image and the operator', () => {
    expect(files).toEqual(expect.arrayContaining(['glanceservice.yaml', 'image.yaml', 'operator.yaml']));
  });

  it.each(files)('%s is accepted by the API server as it stands', async (file) => {
    const objects = parseManifests(readFileSync(path.join(SAMPLES, file), 'utf8'));
    for (const obj of objects) if (!obj.kind.startsWith('Cluster')) obj.metadata.namespace = ns;
    const target = path.join(dir, file);
    writeFileSync(target, objects.map((o) => stringify(o)).join('---\n'));
    const res = await kubectl('apply', '--server-side', '--dry-run=server', '-f', target);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.match(/serverside-applied \(server dry run\)/g)).toHaveLength(objects.length);
  });

  it('operator.yaml grants what the chart grants', async () => {
    const sample = parseManifests(readFileSync(path.join(SAMPLES, 'operator.yaml'), 'utf8'));
    const chart = await renderChart({}, { release: 'glance-operator', namespace: 'glance-operator' });
    const rules = (m: unknown) => (m as { rules: unknown[] }).rules;
    expect(rules(findManifest(sample, 'ClusterRole'))).toEqual(rules(findManifest(chart, 'ClusterRole')));
    expect(rules(findManifest(sample, 'Role'))).toEqual(rules(findManifest(chart, 'Role')));
  });
});
