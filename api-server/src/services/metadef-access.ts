import type { RequestContext } from '../domain/request-context.js';
import type { Policy, PolicyAction } from '../auth/policy.js';
import type { MetadefRepository } from '../db/metadef-repo.js';
import type { MetadefSchemas } from '../domain/metadef-bodies.js';
import type { ListLimits } from '../domain/metadef-query.js';
import type { NamespaceRecord } from '../domain/metadef-types.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import { MetadefEvents, type NamespaceContent } from './metadef-events.js';

/** How a controller words a namespace it cannot use: each of upstream's metadef controllers has its own. */
export type NamespaceMiss =
  /** "Namespace X not found" whether it is missing or invisible (properties, tags, resource types, updates). */
  | 'plain'
  /** A missing one is the database layer's message, an invisible one "Namespace X not found" (objects). */
  | 'objects';

/** Deleting a protected namespace, or anything in it. */
export const protectedNamespace = (ns: NamespaceRecord): Forbidden =>
  new Forbidden(`Metadata definition namespace ${ns.namespace} is protected and cannot be deleted.`);

/**
 * Upstream's namespace lookup and MetadefAPIPolicy: the database layer's visibility rule (admins, the owner, and
 * anyone for public namespaces), then policy rules checked against the namespace, where a refusal on a
 * namespace the caller may not even see is a 404 rather than a 403.
 */
export class MetadefAccess {
  constructor(
    readonly repo: MetadefRepository,
    private readonly policy: Policy,
    private readonly events: MetadefEvents = new MetadefEvents(),
  ) {}

  /** _is_namespace_visible */
  visible(ctx: RequestContext, ns: NamespaceRecord): boolean {
    return (
      ctx.isAdmin || ns.visibility === 'public' || (ctx.projectId !== null && ctx.projectId === ns.owner)
    );
  }

  /** The namespace, or null when it is missing; 'invisible' when the caller may not see it. */
  async lookup(ctx: RequestContext, name: string): Promise<NamespaceRecord | 'invisible' | null> {
    const ns = await this.repo.namespace(name);
    if (ns === null) return null;
    return this.visible(ctx, ns) ? ns : 'invisible';
  }

  /** The namespace a controller works on, or its 404. */
  async find(ctx: RequestContext, name: string, miss: NamespaceMiss = 'plain'): Promise<NamespaceRecord> {
    const found = await this.lookup(ctx, name);
    if (found !== null && found !== 'invisible') return found;
    if (found === null && miss === 'objects') {
      throw new NotFound(`Metadata definition namespace=${name} was not found.`);
    }
    throw new NotFound(`Namespace ${name} not found`);
  }

  private target(ns: NamespaceRecord | null): { owner: string | null; visibility?: string } | undefined {
    return ns === null ? undefined : { owner: ns.owner, visibility: ns.visibility };
  }

  /** MetadefAPIPolicy.check */
  check(ctx: RequestContext, action: PolicyAction, ns: NamespaceRecord | null = null): boolean {
    return this.policy.check(ctx, action, this.target(ns));
  }

  /**
   * DELETE /v2/metadefs/namespaces/{ns}/objects|properties|tags: everything of that kind in the namespace, as
   * the namespace controller's delete_objects, delete_properties and delete_tags.
   */
  async deleteContent(ctx: RequestContext, name: string, kind: NamespaceContent): Promise<void> {
    const ns = await this.find(ctx, name);
    this.enforce(ctx, 'delete_metadef_namespace', ns);
    if (kind === 'tags') this.enforce(ctx, 'delete_metadef_tags', ns);
    if (ns.protected) throw protectedNamespace(ns);
    await this.repo.deleteContent(ns.id, kind);
    this.events.namespaceContentDeleted(ns, kind);
  }

  /** MetadefAPIPolicy._enforce */
  enforce(ctx: RequestContext, action: PolicyAction, ns: NamespaceRecord | null = null): void {
    try {
      this.policy.enforce(ctx, action, this.target(ns));
    } catch (err) {
      if (
        err instanceof Forbidden &&
        (action === 'get_metadef_namespace' || !this.check(ctx, 'get_metadef_namespace', ns))
      ) {
        throw new NotFound();
      }
      throw err;
    }
  }
}

/** What every metadef router needs. */
export interface MetadefRouteDeps {
  access: MetadefAccess;
  schemas: MetadefSchemas;
  limits: ListLimits;
  jsonLimit: number;
  /** The metadef_* notifications (the same MetadefEvents `access` was given). */
  events: MetadefEvents;
}
