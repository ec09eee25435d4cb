import { loadStackEnv } from './stack-env.js';

export interface PasswordScope {
  user: string;
  password: string;
  project: string;
}

export interface IssuedToken {
  token: string;
  projectId: string;
  expiresAt: number;
  roles: string[];
  catalogTypes: string[];
}

/** A project-scoped token from the stack's Keystone, by password (users and projects in domain Default). */
export async function issueToken(scope: PasswordScope): Promise<IssuedToken> {
  const env = loadStackEnv();
  const res = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: scope.user, domain: { name: 'Default' }, password: scope.password } },
        },
        scope: { project: { name: scope.project, domain: { name: 'Default' } } },
      },
    }),
  });
  if (res.status !== 201) throw new Error(`Keystone refused a token for ${scope.user}: HTTP ${res.status}`);
  const body = (await res.json()) as {
    token: {
      expires_at: string;
      project: { id: string };
      roles: { name: string }[];
      catalog?: { type: string }[];
    };
  };
  return {
    token: res.headers.get('x-subject-token') ?? '',
    projectId: body.token.project.id,
    expiresAt: Date.parse(body.token.expires_at),
    roles: body.token.roles.map((r) => r.name),
    catalogTypes: (body.token.catalog ?? []).map((s) => s.type),
  };
}

let admin: IssuedToken | undefined;

/** The stack's admin user's token, reused until a minute before it expires. */
export async function adminTokenFromStack(): Promise<string> {
  if (admin && admin.expiresAt - Date.now() > 60_000) return admin.token;
  const env = loadStackEnv();
  admin = await issueToken({
    user: env.OS_USERNAME ?? '',
    password: env.OS_PASSWORD ?? '',
    project: env.OS_PROJECT_NAME ?? '',
  });
  return admin.token;
}
