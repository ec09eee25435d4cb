import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import { parseSpec, type GlanceService } from '../../../operator/src/api/glance-service-types.js';
import { keyringSecretData } from '../../../operator/src/glance/ceph.js';
import { glanceApiConfig, renderIni } from '../../../operator/src/glance/render-config.js';
import { apiDeployment, dbSyncJob } from '../../../operator/src/glance/workload.js';
import { containerCommand } from '../../harness/local-runner/container-process.js';
import {
  hostPathFor,
  materialisePodFiles,
  pointCephConfAtKeyring,
  rewriteIniPaths,
} from '../../harness/local-runner/pod-files.js';

const gs: GlanceService = {
  apiVersion: 'glance.stackops.dev/v1alpha1',
  kind: 'GlanceService',
  metadata: { name: 'images', namespace: 'openstack', uid: 'u-1', generation: 1 },
};
const parsed = parseSpec({
  image: 'glance-api:1',
  database: { host: 'db', adminSecretRef: { name: 'a' } },
  keystone: { authUrl: 'http://ks:5000/v3', adminSecretRef: { name: 'b' } },
  ceph: { monHost: '[v2:10.0.0.1:3300]', adminSecretRef: { name: 'c' } },
  store: { backends: ['file', 'rbd'] },
});
if (!('spec' in parsed)) throw new Error(parsed.error);
const spec = parsed.spec;
const conf = renderIni(glanceApiConfig({ spec, databasePassword: 'p/etc/ceph', keystonePassword: 'k' }));
const ceph = keyringSecretData(spec.ceph!, 'fsid-1', 'KEY==');

/** Serves the two Secrets the operator writes, as the API server would. */
const core = {
  readNamespacedSecret: async ({ name }: { name: string }) => {
    const data: Record<string, string> | undefined =
      name === 'images-config'
        ? { 'glance-api.conf': conf }
        : name === 'images-ceph-client'
          ? ceph
          : undefined;
    if (!data) throw new Error('404');
    return {
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    };
  },
} as unknown as CoreV1Api;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'runner-files-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function materialise(pod: V1Pod) {
  const container = pod.spec?.containers[0] as V1Container;
  const files = await materialisePodFiles({
    core,
    pod: { ...pod, metadata: { ...pod.metadata, namespace: 'openstack' } },
    container,
    podDir: path.join(dir, 'pod'),
    claimsDir: path.join(dir, 'claims'),
    imageMappings: [{ podPath: '/app', hostPath: '/repo' }],
  });
  return { files, command: containerCommand(container, files.mappings, {}, 4242) };
}

describe('local runner: what a pod of the operator sees', () => {
  it('gives the API process the rendered config with its mount paths pointing at the host copies', async () => {
    const d = apiDeployment(gs, spec, { configHash: 'h', paused: false });
    const { command } = await materialise({ spec: d.spec?.template.spec, metadata: {} } as V1Pod);
    const configFile = path.join(dir, 'pod/volumes/config/glance-api.conf');
    expect(command).toMatchObject({
      file: process.execPath,
      cwd: '/repo',
      args: ['dist/api-server/src/main.js', '--config-file', configFile],
      env: { GLANCE_DEFAULT__BIND_HOST: '127.0.0.1', GLANCE_DEFAULT__BIND_PORT: '4242' },
    });
    const text = await readFile(configFile, 'utf8');
    const cephDir = path.join(dir, 'pod/volumes/ceph');
    // Only the path values differ from the Secret; a password that looks like a path is left alone.
    expect(text).toBe(
      conf
        .replace('= /var/lib/glance/images/', `= ${path.join(dir, 'claims/openstack/images-images')}/`)
        .replace('= /etc/ceph/ceph.conf', `= ${cephDir}/ceph.conf`),
    );
    expect(text).toContain('p%2Fetc%2Fceph@db');
    expect(await readFile(path.join(cephDir, 'ceph.conf'), 'utf8')).toBe(
      `[global]\nkeyring = ${cephDir}/$cluster.$name.keyring\nfsid = fsid-1\nmon_host = [v2:10.0.0.1:3300]\n`,
    );
    expect(await readFile(path.join(cephDir, 'ceph.client.glance.keyring'), 'utf8')).toBe(
      ceph['ceph.client.glance.keyring'],
    );
  });

  it('runs the migration Job as db-sync with the same config file', async () => {
    const job = dbSyncJob(gs, spec);
    const { command } = await materialise({ spec: job.spec?.template.spec, metadata: {} } as V1Pod);
    expect(command.args).toEqual([
      'dist/api-server/src/main.js',
      'db-sync',
      '--config-file',
      path.join(dir, 'pod/volumes/config/glance-api.conf'),
    ]);
  });

  it('refuses a container that is not this repository’s node image', () => {
    expect(() => containerCommand({ name: 'x', command: ['/bin/sh'] }, [], {}, 1)).toThrow(
      /only this repository/,
    );
  });
});

describe('local runner: path rules', () => {
  const mappings = [
    { podPath: '/etc/ceph', hostPath: '/h/ceph' },
    { podPath: '/etc', hostPath: '/h/etc' },
  ];
  it('maps a path by its longest mounted prefix, and nothing else', () => {
    expect(hostPathFor(mappings, '/etc/ceph/ceph.conf')).toBe('/h/ceph/ceph.conf');
    expect(hostPathFor(mappings, '/etc/glance/x')).toBe('/h/etc/glance/x');
    expect(hostPathFor(mappings, '/etcetera')).toBeUndefined();
    expect(hostPathFor(mappings, '/etc/ceph/')).toBe('/h/ceph/');
  });
  it('rewrites INI path values and file URLs, never keys, comments or other values', () => {
    const text = '# a = /etc/x\n[s]\na = /etc/ceph/k\nb = file:///etc/y\nc = http://h/etc/z\n/etc/k = v\n';
    expect(rewriteIniPaths(text, mappings)).toBe(
      '# a = /etc/x\n[s]\na = /h/ceph/k\nb = file:///h/etc/y\nc = http://h/etc/z\n/etc/k = v\n',
    );
  });
  it('leaves a ceph.conf that names its keyring as it is', () => {
    const text = '[global]\nkeyring = /k\n';
    expect(pointCephConfAtKeyring(text, '/h')).toBe(text);
  });
});
