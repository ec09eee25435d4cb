import { randomBytes } from 'node:crypto';
import { loadStackEnv } from '../../harness/stack-env.js';
import { issueToken } from '../../harness/keystone.js';

// Real Keystone identities for the HTTP tests: throwaway projects, each with one member user, created with the
// stack's admin credentials and deleted afterwards.

export interface Persona {
  projectId: string;
  userId: string;
  token: string;
}

export class KeystoneFixture {
  private readonly created: { users: string[]; projects: string[] } = { users: [], projects: [] };
  private adminToken = '';
  readonly suffix = randomBytes(4).toString('hex');

  async adminPersona(): Promise<Persona> {
    const env = loadStackEnv();
    const { token, projectId } = await issueToken({
      user: env.OS_USERNAME ?? '',
      password: env.OS_PASSWORD ?? '',
      project: env.OS_PROJECT_NAME ?? '',
    });
    this.adminToken = token;
    return { projectId, userId: '', token };
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const env = loadStackEnv();
    const res = await fetch(`${env.OS_AUTH_URL}${path}`, {
      method,
      headers: { 'X-Auth-Token': this.adminToken, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 300) throw new Error(`Keystone ${method} ${path}: HTTP ${res.status}`);
    return (res.status === 204 ? {} : await res.json()) as T;
  }

  /** A new project with a user holding `role` in it, and that user's project-scoped token. */
  async memberPersona(label: string, role = 'member'): Promise<Persona> {
    const name = `ghttp-${label}-${this.suffix}`;
    const password = randomBytes(12).toString('hex');
    const { project } = await this.call<{ project: { id: string } }>('POST', '/projects', {
      project: { name, domain_id: 'default', description: 'glance-operator HTTP tests' },
    });
    this.created.projects.push(project.id);
    const { user } = await this.call<{ user: { id: string } }>('POST', '/users', {
      user: { name, password, domain_id: 'default', default_project_id: project.id },
    });
    this.created.users.push(user.id);
    const { roles } = await this.call<{ roles: { id: string }[] }>('GET', `/roles?name=${role}`);
    const roleId = roles[0]?.id;
    if (!roleId) throw new Error(`Keystone has no role named ${role}`);
    await this.call('PUT', `/projects/${project.id}/users/${user.id}/roles/${roleId}`);
    const { token } = await issueToken({ user: name, password, project: name });
    return { projectId: project.id, userId: user.id, token };
  }

  async cleanup(): Promise<void> {
    for (const id of this.created.users) await this.call('DELETE', `/users/${id}`).catch(() => undefined);
    for (const id of this.created.projects)
      await this.call('DELETE', `/projects/${id}`).catch(() => undefined);
  }
}
