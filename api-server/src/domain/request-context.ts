/** Who is asking, as upstream's glance.context.RequestContext records it. */
export interface RequestContext {
  /** 'req-<uuid>', from the request id middleware. */
  requestId: string;
  userId: string | null;
  /** null for system- or domain-scoped tokens, and for the noauth flavor. */
  projectId: string | null;
  /** The domain of a domain-scoped token. */
  domainId: string | null;
  /** Lower-case role names, as glance lower-cases them. */
  roles: string[];
  /** The token is scoped to the system ('all'). */
  systemScope: boolean;
  /** Policy's context_is_admin (role:admin), or always for the noauth flavor. */
  isAdmin: boolean;
  authToken: string | null;
}
