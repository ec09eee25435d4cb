import { randomBytes } from 'node:crypto';
import type { KeystoneAdmin } from '../../operator/src/glance-service/admin-clients.js';
import {
  KeystoneError,
  OWNER_ATTRIBUTE,
  type KeystoneEndpoint,
  type KeystoneRegion,
  type KeystoneService,
  type KeystoneUser,
  type Named,
  type NewService,
  type PasswordCredentials,
  type UserChanges,
} from '../../operator/src/glance-service/keystone-client.js';

interface StoredUser extends KeystoneUser {
  password: string;
}

/** Keystone ids are uuid4 hex strings. */
const newId = () => randomBytes(16).toString('hex');

/**
 * An in-memory Keystone v3 with what the operator touches: domains, projects, users and their passwords,
 * roles and project role assignments, services, regions and endpoints. It answers as Keystone does where the
 * operator could tell: 409 for a duplicate name or region, 404 from PATCH on an unknown id, `false` from a
 * DELETE that finds nothing, a deleted service or user taking its endpoints or role assignments along, and
 * KeystoneError 401 for refused admin credentials. `writes` lists every call that changed something.
 */
export class FakeKeystone {
  readonly domains: Named[] = [{ id: 'default', name: 'Default' }];
  readonly projects: Array<Named & { domain_id: string; description: string }> = [];
  readonly users: StoredUser[] = [];
  readonly roles: Named[] = [
    { id: newId(), name: 'admin' },
    { id: newId(), name: 'member' },
  ];
  /** `${projectId}/${userId}/${roleId}` */
  readonly assignments = new Set<string>();
  readonly services: KeystoneService[] = [];
  readonly regions: KeystoneRegion[] = [];
  readonly endpoints: KeystoneEndpoint[] = [];
  readonly writes: string[] = [];
  /** While set, every call fails as fetch does when nothing listens. */
  down = false;

  constructor(
    readonly authUrl = 'http://keystone.test:5000/v3',
    readonly admin = { username: 'admin', password: 'admin-password', project: 'admin' },
  ) {
    const adminProject = { id: newId(), name: admin.project, domain_id: 'default', description: '' };
    this.projects.push(adminProject);
    const adminUser = { id: newId(), name: admin.username, domain_id: 'default', enabled: true };
    this.users.push({ ...adminUser, password: admin.password });
    this.assignments.add(`${adminProject.id}/${adminUser.id}/${this.role('admin').id}`);
  }

  role(name: string): Named {
    const role = this.roles.find((r) => r.name === name);
    if (!role) throw new Error(`no role ${name}`);
    return role;
  }

  /** The stored user, for tests to look at or change out of band. */
  user(name: string): StoredUser | undefined {
    return this.users.find((u) => u.name === name);
  }

  service(name: string): KeystoneService | undefined {
    return this.services.find((s) => s.name === name);
  }

  /** Whether Keystone issues a token for these credentials (the user exists, is enabled, the password is right). */
  accepts(c: PasswordCredentials): boolean {
    const domain = this.domains.find((d) => d.name === c.userDomainName || d.id === c.userDomainName);
    const user = this.users.find((u) => u.name === c.username && u.domain_id === domain?.id);
    if (!user || !user.enabled || user.password !== c.password) return false;
    if (!c.project) return true;
    const project = this.projects.find((p) => p.name === c.project?.name);
    return !!project && [...this.assignments].some((a) => a.startsWith(`${project.id}/${user.id}/`));
  }

  /** The connector the reconciler uses: authenticates as the admin, then hands out the session. */
  async connect(authUrl: string, admin: PasswordCredentials): Promise<KeystoneAdmin> {
    this.reachable();
    if (authUrl !== this.authUrl) throw new TypeError('fetch failed');
    if (!this.accepts(admin)) {
      throw new KeystoneError(401, 'Keystone refused the admin credentials (HTTP 401)');
    }
    return new FakeKeystoneSession(this);
  }

  reachable(): void {
    if (this.down) throw new TypeError('fetch failed');
  }

  wrote(operation: string): void {
    this.writes.push(operation);
  }
}

function updated<T extends object>(
  list: T[],
  match: (t: T) => boolean,
  changes: Partial<T>,
  what: string,
): T {
  const found = list.find(match);
  if (!found) throw new KeystoneError(404, `Keystone PATCH /${what}: not found`);
  Object.assign(found, changes);
  return structuredClone(found);
}

function removed<T>(list: T[], match: (t: T) => boolean): boolean {
  const i = list.findIndex(match);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

const strip = ({ password: _password, ...user }: StoredUser): KeystoneUser => ({ ...user });

/** One admin session on a FakeKeystone: reads return copies, as JSON over HTTP would. */
class FakeKeystoneSession implements KeystoneAdmin {
  constructor(private readonly ks: FakeKeystone) {}

  private read<T>(value: T): T {
    this.ks.reachable();
    return structuredClone(value);
  }

  private write(operation: string): void {
    this.ks.reachable();
    this.ks.wrote(operation);
  }

  async checkPassword(credentials: PasswordCredentials): Promise<boolean> {
    this.ks.reachable();
    return this.ks.accepts(credentials);
  }

  async findDomain(name: string): Promise<Named | undefined> {
    return this.read(this.ks.domains.find((d) => d.name === name));
  }

  async findProject(name: string, domainId: string): Promise<Named | undefined> {
    return this.read(this.ks.projects.find((p) => p.name === name && p.domain_id === domainId));
  }

  async createProject(name: string, domainId: string, description: string): Promise<Named> {
    this.write('POST projects');
    if (this.ks.projects.some((p) => p.name === name && p.domain_id === domainId)) {
      throw new KeystoneError(409, `Keystone POST /projects: HTTP 409 Conflict`);
    }
    const project = { id: newId(), name, domain_id: domainId, description };
    this.ks.projects.push(project);
    return structuredClone(project);
  }

  async findUser(name: string, domainId: string): Promise<KeystoneUser | undefined> {
    const user = this.ks.users.find((u) => u.name === name && u.domain_id === domainId);
    return this.read(user && strip(user));
  }

  async createUser(name: string, domainId: string, password: string, owner: string): Promise<KeystoneUser> {
    this.write('POST users');
    if (this.ks.users.some((u) => u.name === name && u.domain_id === domainId)) {
      throw new KeystoneError(409, `Keystone POST /users: HTTP 409 Conflict`);
    }
    const user = {
      id: newId(),
      name,
      domain_id: domainId,
      enabled: true,
      password,
      [OWNER_ATTRIBUTE]: owner,
    };
    this.ks.users.push(user);
    return strip(user);
  }

  async updateUser(id: string, changes: UserChanges): Promise<KeystoneUser> {
    this.write('PATCH users');
    return strip(updated(this.ks.users, (u) => u.id === id, changes, `users/${id}`));
  }

  async deleteUser(id: string): Promise<boolean> {
    this.write('DELETE users');
    for (const a of [...this.ks.assignments]) if (a.split('/')[1] === id) this.ks.assignments.delete(a);
    return removed(this.ks.users, (u) => u.id === id);
  }

  async findRole(name: string): Promise<Named | undefined> {
    return this.read(this.ks.roles.find((r) => r.name === name));
  }

  async hasProjectRole(projectId: string, userId: string, roleId: string): Promise<boolean> {
    this.ks.reachable();
    return this.ks.assignments.has(`${projectId}/${userId}/${roleId}`);
  }

  async grantProjectRole(projectId: string, userId: string, roleId: string): Promise<void> {
    this.write('PUT projects');
    if (!this.ks.users.some((u) => u.id === userId)) {
      throw new KeystoneError(404, `Keystone PUT /projects: HTTP 404 Could not find user: ${userId}.`);
    }
    this.ks.assignments.add(`${projectId}/${userId}/${roleId}`);
  }

  async listServices(type: string): Promise<KeystoneService[]> {
    return this.read(this.ks.services.filter((s) => s.type === type));
  }

  async createService(value: NewService): Promise<KeystoneService> {
    this.write('POST services');
    // Keystone allows two services of one name; so does this fake.
    const service = { id: newId(), ...value, enabled: true };
    this.ks.services.push(service);
    return structuredClone(service);
  }

  async updateService(id: string, changes: Partial<Omit<KeystoneService, 'id'>>): Promise<KeystoneService> {
    this.write('PATCH services');
    return updated<KeystoneService>(this.ks.services, (s) => s.id === id, changes, `services/${id}`);
  }

  async deleteService(id: string): Promise<boolean> {
    this.write('DELETE services');
    // Keystone deletes a service's endpoints with it.
    for (const e of this.ks.endpoints.filter((e) => e.service_id === id)) {
      removed(this.ks.endpoints, (x) => x === e);
    }
    return removed(this.ks.services, (s) => s.id === id);
  }

  async getRegion(id: string): Promise<KeystoneRegion | undefined> {
    return this.read(this.ks.regions.find((r) => r.id === id));
  }

  async createRegion(id: string, description: string): Promise<KeystoneRegion> {
    this.write('POST regions');
    if (this.ks.regions.some((r) => r.id === id)) {
      throw new KeystoneError(409, `Keystone POST /regions: HTTP 409 Duplicate ID, ${id}.`);
    }
    const region = { id, description };
    this.ks.regions.push(region);
    return structuredClone(region);
  }

  async deleteRegion(id: string): Promise<boolean> {
    this.write('DELETE regions');
    if (this.ks.endpoints.some((e) => e.region_id === id)) {
      throw new KeystoneError(403, `Keystone DELETE /regions/${id}: HTTP 403 region has endpoints`);
    }
    return removed(this.ks.regions, (r) => r.id === id);
  }

  async listEndpoints(serviceId: string): Promise<KeystoneEndpoint[]> {
    return this.read(this.ks.endpoints.filter((e) => e.service_id === serviceId));
  }

  async listRegionEndpoints(regionId: string): Promise<KeystoneEndpoint[]> {
    return this.read(this.ks.endpoints.filter((e) => e.region_id === regionId));
  }

  async createEndpoint(value: Omit<KeystoneEndpoint, 'id'>): Promise<KeystoneEndpoint> {
    this.write('POST endpoints');
    if (value.region_id !== null && !this.ks.regions.some((r) => r.id === value.region_id)) {
      throw new KeystoneError(400, `Keystone POST /endpoints: HTTP 400 Region ${value.region_id} not found`);
    }
    const endpoint = { id: newId(), ...value };
    this.ks.endpoints.push(endpoint);
    return structuredClone(endpoint);
  }

  async updateEndpoint(
    id: string,
    changes: Partial<Omit<KeystoneEndpoint, 'id'>>,
  ): Promise<KeystoneEndpoint> {
    this.write('PATCH endpoints');
    return updated<KeystoneEndpoint>(this.ks.endpoints, (e) => e.id === id, changes, `endpoints/${id}`);
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    this.write('DELETE endpoints');
    return removed(this.ks.endpoints, (e) => e.id === id);
  }
}
