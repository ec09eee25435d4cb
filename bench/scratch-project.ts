import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { adminTokenFromStack, issueToken } from '../test/harness/keystone.js';
import { stackValue } from '../test/harness/stack-env.js';
import { send } from './http.js';

export interface ScratchProject {
  id: string;
  name: string;
  /** A token of the stack's admin user scoped to this project with the member role only: not an admin. */
  token: string;
}

const roleList = z.object({ roles: z.array(z.object({ id: z.string() })).optional() });
const userList = z.object({ users: z.array(z.object({ id: z.string() })) });
const created = z.object({ project: z.object({ id: z.string() }) });

async function keystone(method: string, path: string, body?: unknown): Promise<unknown> {
  const reply = await send(`${stackValue('OS_AUTH_URL')}${path}`, {
    method,
    headers: { 'X-Auth-Token': await adminTokenFromStack(), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (reply.status >= 300 && !(method === 'DELETE' && reply.status === 404)) {
    throw new Error(`Keystone ${method} ${path}: HTTP ${reply.status}`);
  }
  const text = reply.body.toString('utf8');
  return text === '' ? null : JSON.parse(text);
}

/**
 * A project of its own for data the benchmark registers, so that other tests' listings (which see their own
 * projects) never meet it. The caller deletes it with deleteScratchProject().
 */
export async function createScratchProject(label: string): Promise<ScratchProject> {
  const name = `glance-bench-${label}-${randomBytes(4).toString('hex')}`;
  const project = created.parse(
    await keystone('POST', '/projects', {
      project: { name, domain_id: 'default', description: 'glance-operator benchmark scratch data' },
    }),
  ).project;
  try {
    const role = roleList.parse(await keystone('GET', '/roles?name=member')).roles?.[0];
    const user = userList.parse(
      await keystone('GET', `/users?name=${encodeURIComponent(stackValue('OS_USERNAME'))}&domain_id=default`),
    ).users[0];
    if (!role || !user) throw new Error('Keystone has no member role or no admin user');
    await keystone('PUT', `/projects/${project.id}/users/${user.id}/roles/${role.id}`);
    const scoped = await issueToken({
      user: stackValue('OS_USERNAME'),
      password: stackValue('OS_PASSWORD'),
      project: name,
    });
    return { id: project.id, name, token: scoped.token };
  } catch (err) {
    await deleteScratchProject(project.id);
    throw err;
  }
}

/** Deleting the project also removes its role assignments. */
export async function deleteScratchProject(id: string): Promise<void> {
  await keystone('DELETE', `/projects/${id}`);
}
