import type { GlanceConfig } from '../config/load.js';
import { Forbidden } from '../domain/errors.js';
import { evaluate, parseCheck, type Check, type Target } from './check-string.js';
import { policyCreds } from './context.js';
import type { RequestContext } from '../domain/request-context.js';
import { DEFAULT_RULES, type RuleDefault, type RuleName } from './policy-defaults.js';
import { loadPolicyOverrides, policyFilesVersion } from './policy-file.js';

/** Upstream's policy names: 'add_image', 'get_image', 'modify_member', 'get_metadef_namespace', 'cache_list', … */
export type PolicyAction = RuleName;

/**
 * The resource a rule is checked against: the image as stored (or, for add_image, as proposed), or a metadef
 * namespace. Without a target, rules see upstream's target for collection calls: the caller's own project, private.
 */
export interface PolicyTarget {
  owner: string | null;
  visibility?: string;
  /**
   * The caller's membership of a shared image it does not own: null when it has none. Left out, the caller is
   * taken to be a member, as upstream's DB layer assumes of any shared image it returned to a non-owner.
   */
  memberStatus?: string | null;
}

export interface Policy {
  /** Throws Forbidden "You are not authorized to complete <action> action." unless the rule passes. */
  enforce(ctx: RequestContext, action: PolicyAction, target?: PolicyTarget): void;
  check(ctx: RequestContext, action: PolicyAction, target?: PolicyTarget): boolean;
  /** context_is_admin (role:admin by default), which decides RequestContext.isAdmin. */
  isAdmin(ctx: Omit<RequestContext, 'isAdmin'>): boolean;
}

export interface PolicyOptions {
  /** [oslo_policy] enforce_new_defaults: false ORs every rule with its deprecated (legacy) default. */
  enforceNewDefaults: boolean;
  /** [oslo_policy] enforce_scope: refuse system- and domain-scoped tokens on project-scoped rules. */
  enforceScope: boolean;
  /** Rules from policy files, by name; they replace the defaults outright, as in oslo.policy. */
  overrides?: Readonly<Record<string, string>>;
}

// glance.api.policy.ImageTarget maps project_id to the owner and member_id to the caller's membership.
function imageTarget(ctx: Omit<RequestContext, 'isAdmin'>, target: PolicyTarget | undefined): Target {
  if (!target) return { project_id: ctx.projectId, owner: ctx.projectId, visibility: 'private' };
  const member =
    target.visibility === 'shared' && target.memberStatus !== null && target.owner !== ctx.projectId
      ? ctx.projectId
      : null;
  return {
    project_id: target.owner,
    owner: target.owner,
    member_id: member,
    member,
    ...(target.visibility !== undefined && { visibility: target.visibility }),
  };
}

function tokenScope(ctx: Omit<RequestContext, 'isAdmin'>): 'system' | 'domain' | 'project' {
  if (ctx.systemScope) return 'system';
  if (ctx.domainId !== null) return 'domain';
  return 'project';
}

/** oslo.policy's Enforcer over upstream's defaults (and any overrides), as glance.api.policy.Enforcer uses it. */
export function buildPolicy(options: PolicyOptions): Policy {
  const rules = new Map<string, Check>();
  const projectScoped = new Set<string>();
  const defaults: readonly RuleDefault[] = DEFAULT_RULES;
  for (const rule of defaults) {
    if (rule.projectScope) projectScoped.add(rule.name);
    const legacy = options.enforceNewDefaults ? undefined : rule.legacy;
    const main = parseCheck(rule.check);
    rules.set(rule.name, legacy === undefined ? main : { kind: 'or', checks: [main, parseCheck(legacy)] });
  }
  for (const [name, check] of Object.entries(options.overrides ?? {})) rules.set(name, parseCheck(check));
  const resolve = (name: string): Check | undefined => rules.get(name);

  const check = (ctx: Omit<RequestContext, 'isAdmin'>, action: string, target: Target): boolean => {
    if (options.enforceScope && projectScoped.has(action) && tokenScope(ctx) !== 'project') return false;
    const rule = rules.get(action);
    return rule !== undefined && evaluate(rule, target, policyCreds(ctx), resolve);
  };

  return {
    enforce(ctx, action, target) {
      if (!check(ctx, action, imageTarget(ctx, target))) {
        throw new Forbidden(`You are not authorized to complete ${action} action.`);
      }
    },
    check(ctx, action, target) {
      return check(ctx, action, imageTarget(ctx, target));
    },
    isAdmin(ctx) {
      // Upstream checks it against the context itself (context.to_dict()).
      const self: Target = {
        user_id: ctx.userId,
        project_id: ctx.projectId,
        domain_id: ctx.domainId,
        system_scope: ctx.systemScope ? 'all' : null,
      };
      return check(ctx, 'context_is_admin', self);
    },
  };
}

/** How often the policy files are looked at again, at most: a stat per file, not per request. */
const RELOAD_CHECK_MS = 1000;

/**
 * The policy upstream would enforce with this configuration, policy files included; throws ConfigError for bad
 * files at start. Like oslo.policy, it reloads the files when one changes (looked at once a second at most); a
 * changed file that does not parse keeps the rules in force, and `onReloadError` says why.
 */
export function createPolicy(
  cfg: Pick<GlanceConfig, 'source' | 'oslo_policy'>,
  onReloadError: (err: Error) => void = () => undefined,
  now: () => number = Date.now,
): Policy {
  const build = () =>
    buildPolicy({
      enforceNewDefaults: cfg.oslo_policy.enforce_new_defaults,
      enforceScope: cfg.oslo_policy.enforce_scope,
      overrides: loadPolicyOverrides(cfg),
    });
  let version = policyFilesVersion(cfg);
  let current = build();
  let checkedAt = now();
  const fresh = (): Policy => {
    if (now() - checkedAt < RELOAD_CHECK_MS) return current;
    checkedAt = now();
    const seen = policyFilesVersion(cfg);
    if (seen === version) return current;
    version = seen;
    try {
      current = build();
    } catch (err) {
      onReloadError(err as Error);
    }
    return current;
  };
  return {
    enforce: (ctx, action, target) => fresh().enforce(ctx, action, target),
    check: (ctx, action, target) => fresh().check(ctx, action, target),
    isAdmin: (ctx) => fresh().isAdmin(ctx),
  };
}
