/** Who is asking, as upstream's glance.context.RequestContext records it. */
export interface RequestContext {
  /** 'req-<uuid>', from the request id middleware. */
  requestId: string;
  userId: string | null;
  /** null for system- or domain-scoped tokens, and for the noauth flavor. */
  projectId: string | null;
  /** The domains of the user and of the project, as Keystone's token names them; absent or null: unknown. */
  userDomainId?: string | null;
  projectDomainId?: string | null;
  /** Keystone's is_admin_project; absent: true, oslo.context's default. */
  isAdminProject?: boolean;
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
