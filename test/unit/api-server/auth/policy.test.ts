import type { RequestContext } from '../../../../api-server/src/domain/request-context.js';
import { buildPolicy, type PolicyAction, type PolicyTarget } from '../../../../api-server/src/auth/policy.js';
import { Forbidden } from '../../../../api-server/src/domain/errors.js';
import { answered } from '../domain/helpers.js';

const OWN = 'project-own';
const OTHER = 'project-other';

// Keystone expands implied roles into the token: admin implies member implies reader.
const PERSONAS = {
  admin: { projectId: OWN, roles: ['admin', 'member', 'reader'], systemScope: false },
  member: { projectId: OWN, roles: ['member', 'reader'], systemScope: false },
  reader: { projectId: OWN, roles: ['reader'], systemScope: false },
  systemAdmin: { projectId: null, roles: ['admin', 'member', 'reader'], systemScope: true },
} as const;
type Persona = keyof typeof PERSONAS;

function context(persona: Persona): RequestContext {
  const p = PERSONAS[persona];
  return {
    requestId: 'req-test',
    userId: `user-${persona}`,
    projectId: p.projectId,
    domainId: null,
    roles: [...p.roles],
    systemScope: p.systemScope,
    isAdmin: false,
    authToken: 'token',
  };
}

const TARGETS: Record<string, PolicyTarget | undefined> = {
  // No target: a collection call (list images, create without details) for the caller's own project.
  none: undefined,
  own: { owner: OWN, visibility: 'private' },
  otherPrivate: { owner: OTHER, visibility: 'private' },
  otherPublic: { owner: OTHER, visibility: 'public' },
  sharedWithMe: { owner: OTHER, visibility: 'shared', memberStatus: 'accepted' },
};
type TargetName = keyof typeof TARGETS;

const ACTIONS: PolicyAction[] = [
  'add_image',
  'get_image',
  'get_images',
  'modify_image',
  'delete_image',
  'publicize_image',
  'communitize_image',
  'upload_image',
  'download_image',
  'deactivate',
  'reactivate',
  'copy_image',
  'set_image_location',
  'get_image_location',
  'delete_image_location',
  'add_member',
  'get_member',
  'get_members',
  'modify_member',
  'delete_member',
];

// The decision table upstream's own Enforcer (glance 25.1.0 with oslo.policy 4.0) gives for these personas and
// targets; it was produced by running glance.api.policy.Enforcer over the same cases.
const EVERYTHING = ACTIONS;
const NOT_ADMIN_ONLY = ACTIONS.filter((a) => a !== 'publicize_image' && a !== 'copy_image');
const everywhere = (allowed: PolicyAction[]): Record<TargetName, PolicyAction[]> => ({
  none: allowed,
  own: allowed,
  otherPrivate: allowed,
  otherPublic: allowed,
  sharedWithMe: allowed,
});
const MEMBER_OF_OWN_PROJECT: PolicyAction[] = [
  'add_image',
  'get_image',
  'get_images',
  'modify_image',
  'delete_image',
  'communitize_image',
  'upload_image',
  'download_image',
  'deactivate',
  'reactivate',
  'set_image_location',
  'get_image_location',
  'add_member',
  'get_member',
  'get_members',
  'delete_member',
];
const READER_OF_OWN_PROJECT: PolicyAction[] = [
  'get_image',
  'get_images',
  'get_image_location',
  'get_member',
  'get_members',
];

const EXPECTED: Record<'legacy' | 'secure', Record<Persona, Record<TargetName, PolicyAction[]>>> = {
  // enforce_new_defaults = False: every rule is ORed with its deprecated "rule:default", which passes for anyone,
  // so only the rules that never had a legacy default (publicize_image, copy_image) still need admin.
  legacy: {
    admin: everywhere(EVERYTHING),
    member: everywhere(NOT_ADMIN_ONLY),
    reader: everywhere(NOT_ADMIN_ONLY),
    systemAdmin: everywhere(EVERYTHING),
  },
  // enforce_new_defaults and enforce_scope = True: the secure RBAC personas.
  secure: {
    admin: everywhere(EVERYTHING),
    member: {
      none: MEMBER_OF_OWN_PROJECT,
      own: MEMBER_OF_OWN_PROJECT,
      otherPrivate: [],
      otherPublic: ['get_image', 'download_image'],
      sharedWithMe: ['get_image', 'download_image', 'get_member', 'get_members', 'modify_member'],
    },
    reader: {
      none: READER_OF_OWN_PROJECT,
      own: READER_OF_OWN_PROJECT,
      otherPrivate: [],
      otherPublic: ['get_image'],
      sharedWithMe: ['get_image', 'get_member', 'get_members'],
    },
    // Every image rule is project-scoped, so a system-scoped token gets nothing once scope is enforced.
    systemAdmin: everywhere([]),
  },
};

const MODES = {
  legacy: buildPolicy({ enforceNewDefaults: false, enforceScope: false }),
  secure: buildPolicy({ enforceNewDefaults: true, enforceScope: true }),
};

describe('Policy decision table (image and member actions)', () => {
  for (const mode of ['legacy', 'secure'] as const) {
    for (const persona of Object.keys(PERSONAS) as Persona[]) {
      for (const targetName of Object.keys(TARGETS) as TargetName[]) {
        it(`${mode}: ${persona} on ${targetName}`, () => {
          const policy = MODES[mode];
          const ctx = context(persona);
          const allowed = ACTIONS.filter((action) => policy.check(ctx, action, TARGETS[targetName]));
          expect(allowed).toEqual(EXPECTED[mode][persona][targetName]);
        });
      }
    }
  }
});

describe('Policy', () => {
  it("enforce throws upstream's 403 for a refused action and returns for an allowed one", () => {
    const policy = MODES.secure;
    expect(() => policy.enforce(context('reader'), 'get_image', TARGETS.own)).not.toThrow();
    let error: unknown;
    try {
      policy.enforce(context('reader'), 'modify_image', TARGETS.own);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Forbidden);
    expect(answered(error).status).toBe(403);
    expect(answered(error).explanation).toBe('You are not authorized to complete modify_image action.');
  });

  it('isAdmin is context_is_admin (role:admin), whatever the scope', () => {
    for (const policy of Object.values(MODES)) {
      expect(policy.isAdmin(context('admin'))).toBe(true);
      expect(policy.isAdmin(context('systemAdmin'))).toBe(true);
      expect(policy.isAdmin(context('member'))).toBe(false);
      expect(policy.isAdmin(context('reader'))).toBe(false);
    }
  });

  it('without enforce_scope, a system-scoped admin passes project rules through role:admin', () => {
    const policy = buildPolicy({ enforceNewDefaults: true, enforceScope: false });
    expect(policy.check(context('systemAdmin'), 'modify_image', TARGETS.otherPrivate)).toBe(true);
  });

  it('a caller known not to be a member of a shared image is not treated as one', () => {
    const policy = MODES.secure;
    const notMember: PolicyTarget = { owner: OTHER, visibility: 'shared', memberStatus: null };
    expect(policy.check(context('member'), 'modify_member', notMember)).toBe(false);
    expect(policy.check(context('member'), 'get_members', notMember)).toBe(false);
    // The owner is never its own image's member, so it cannot accept or reject membership (403 upstream).
    expect(policy.check(context('member'), 'modify_member', { owner: OWN, visibility: 'shared' })).toBe(
      false,
    );
  });

  it('add_image checks the proposed owner against the caller', () => {
    const policy = MODES.secure;
    expect(policy.check(context('member'), 'add_image', { owner: OWN, visibility: 'private' })).toBe(true);
    expect(policy.check(context('member'), 'add_image', { owner: OTHER, visibility: 'private' })).toBe(false);
    expect(policy.check(context('admin'), 'add_image', { owner: OTHER, visibility: 'private' })).toBe(true);
  });

  it('policy-file overrides replace a default outright, even in legacy mode', () => {
    const policy = buildPolicy({
      enforceNewDefaults: false,
      enforceScope: false,
      overrides: {
        delete_image: 'role:admin',
        publicize_image: 'rule:image_owner',
        image_owner: 'project_id:%(owner)s',
      },
    });
    expect(policy.check(context('member'), 'delete_image', TARGETS.own)).toBe(false);
    expect(policy.check(context('admin'), 'delete_image', TARGETS.own)).toBe(true);
    expect(policy.check(context('member'), 'publicize_image', TARGETS.own)).toBe(true);
    expect(policy.check(context('member'), 'publicize_image', TARGETS.otherPrivate)).toBe(false);
  });

  it("policy files can use every credential oslo.context gives: the token's domains and is_admin_project", () => {
    const policy = buildPolicy({
      enforceNewDefaults: false,
      enforceScope: false,
      overrides: {
        delete_image: 'user_domain_id:corp and project_domain_id:%(owner)s',
        deactivate: 'role:admin and is_admin_project:True',
        reactivate: 'service_roles:service',
      },
    });
    const corp = { ...context('member'), userDomainId: 'corp', projectDomainId: OWN };
    expect(policy.check(corp, 'delete_image', TARGETS.own)).toBe(true);
    expect(policy.check({ ...corp, userDomainId: 'default' }, 'delete_image', TARGETS.own)).toBe(false);
    // Keystone marks one project as the admin project when admin_project_name is set; without it, every one is.
    expect(policy.check(context('admin'), 'deactivate', TARGETS.own)).toBe(true);
    expect(policy.check({ ...context('admin'), isAdminProject: false }, 'deactivate', TARGETS.own)).toBe(
      false,
    );
    // No service token is validated, so no request has service roles.
    expect(policy.check(context('admin'), 'reactivate', TARGETS.own)).toBe(false);
  });

  it('metadef writes need admin even in legacy mode, and namespace reads follow visibility in secure mode', () => {
    const ns = { owner: OTHER, visibility: 'private' };
    expect(MODES.legacy.check(context('member'), 'add_metadef_namespace')).toBe(false);
    expect(MODES.legacy.check(context('member'), 'get_metadef_namespace', ns)).toBe(true);
    expect(MODES.secure.check(context('reader'), 'get_metadef_namespace', ns)).toBe(false);
    expect(
      MODES.secure.check(context('reader'), 'get_metadef_namespace', { ...ns, visibility: 'public' }),
    ).toBe(true);
  });

  it('tasks, cache and store details need admin in both modes', () => {
    for (const policy of Object.values(MODES)) {
      for (const action of [
        'tasks_api_access',
        'cache_list',
        'cache_image',
        'cache_delete',
        'stores_info_detail',
      ] as const) {
        expect(policy.check(context('member'), action)).toBe(false);
        expect(policy.check(context('admin'), action)).toBe(true);
      }
    }
  });
});
