import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { loadStackEnv, stackValue } from '../../harness/stack-env.js';
import { run } from '../../harness/run.js';
import { issueToken } from '../../harness/keystone.js';
import { sendfileAddon } from '../../../api-server/src/http/sendfile-addon.js';

// Each service of the local stack answers through the clients the project itself uses.
describe('local stack', () => {
  const env = loadStackEnv();

  test('the build made the sendfile addon (downloads otherwise stream through Node, much slower)', () => {
    expect(sendfileAddon()).not.toBeNull();
  });

  test('kube-apiserver creates, reads and deletes a ConfigMap', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(stackValue('KUBECONFIG'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const name = `smoke-${randomUUID().slice(0, 8)}`;
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name }, data: { hello: 'world' } },
    });
    const read = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    expect(read.data).toEqual({ hello: 'world' });
    await core.deleteNamespacedConfigMap({ name, namespace: 'default' });
    await expect(core.readNamespacedConfigMap({ name, namespace: 'default' })).rejects.toMatchObject({
      code: 404,
    });
  });

  test('kube-apiserver enforces RBAC: an unbound service account may not list secrets', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(stackValue('KUBECONFIG'));
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const review = await authz.createSubjectAccessReview({
      body: {
        spec: {
          user: 'system:serviceaccount:default:nobody',
          resourceAttributes: { verb: 'list', resource: 'secrets', namespace: 'default' },
        },
      },
    });
    expect(review.status?.allowed).toBe(false);
  });

  test('Keystone issues a project-scoped token for the admin user', async () => {
    const issued = await issueToken({
      user: env.OS_USERNAME!,
      password: env.OS_PASSWORD!,
      project: env.OS_PROJECT_NAME!,
    });
    expect(issued.token).toMatch(/^gAAAAA/); // fernet
    expect(issued.roles).toContain('admin');
    expect(issued.catalogTypes).toEqual(expect.arrayContaining(['identity', 'image']));
  });

  test('MariaDB answers a query with the admin credentials', async () => {
    const conn = await mysql.createConnection({
      host: stackValue('DB_HOST'),
      port: Number(stackValue('DB_PORT')),
      user: stackValue('DB_ADMIN_USER'),
      password: stackValue('DB_ADMIN_PASSWORD'),
    });
    try {
      const [rows] = await conn.query('SELECT 6 * 7 AS answer, VERSION() AS version');
      const row = (rows as { answer: number; version: string }[])[0];
      expect(row?.answer).toBe(42);
      expect(row?.version).toMatch(/MariaDB/);
    } finally {
      await conn.end();
    }
  });

  test('Ceph reports health and creates and removes an RBD image', async () => {
    const health = JSON.parse((await run('ceph', ['health', '-f', 'json'])).stdout) as { status: string };
    expect(['HEALTH_OK', 'HEALTH_WARN']).toContain(health.status);
    const name = `smoke-${randomUUID().slice(0, 8)}`;
    await run('rbd', ['create', '--size', '16', `images/${name}`]);
    expect((await run('rbd', ['ls', 'images'])).stdout.split('\n')).toContain(name);
    await run('rbd', ['rm', `images/${name}`]);
    expect((await run('rbd', ['ls', 'images'])).stdout.split('\n')).not.toContain(name);
  });

  test('the real `openstack image list` works against upstream Glance', async () => {
    const name = `smoke-${randomUUID().slice(0, 8)}`;
    const created = JSON.parse(
      (
        await run('openstack', [
          'image',
          'create',
          name,
          '--disk-format',
          'raw',
          '--container-format',
          'bare',
          '--private',
          '-f',
          'json',
        ])
      ).stdout,
    ) as { id: string };
    try {
      const list = JSON.parse((await run('openstack', ['image', 'list', '-f', 'json'])).stdout) as {
        ID: string;
        Name: string;
      }[];
      expect(list).toContainEqual(expect.objectContaining({ ID: created.id, Name: name }));
    } finally {
      await run('openstack', ['image', 'delete', created.id]);
    }
  });
});
