import { z } from 'zod';
import type { EndpointHttp } from '../net/endpoint-http.js';
import { TerminalError } from '../runtime/errors.js';

/** Keystone refused the credentials, or the catalog has no image endpoint: only a person can fix either. */
export class KeystoneAuthError extends TerminalError {
  override readonly name = 'KeystoneAuthError';
  constructor(reason: 'KeystoneAuthFailed' | 'NoImageEndpoint', message: string) {
    super(reason, message);
  }
}

export interface ProjectCredentials {
  authUrl: string;
  username: string;
  password: string;
  userDomain: string;
  project: string;
  projectDomain: string;
}

export interface EndpointChoice {
  region?: string;
  interface: 'public' | 'internal' | 'admin';
  /** Skips the catalog. */
  imageUrl?: string;
}

export interface GlanceSession {
  token: string;
  /** The project the token is scoped to: the owner of the images it creates. */
  projectId: string;
  /** The Glance root URL, without a trailing slash or /v2. */
  imageUrl: string;
  expiresAt: number;
}

const tokenBody = z.object({
  token: z.object({
    expires_at: z.string(),
    project: z.object({ id: z.string().min(1) }),
    catalog: z
      .array(
        z.object({
          type: z.string(),
          endpoints: z.array(
            z.object({ interface: z.string(), url: z.string(), region_id: z.string().nullish() }),
          ),
        }),
      )
      .default([]),
  }),
});

const TIMEOUT_MS = 15_000;

/**
 * A project-scoped token and the image endpoint chosen from its catalog, through `http` (the URL policy): the
 * password goes only to an allowed Keystone, and a redirect is not followed.
 */
export async function openGlanceSession(
  http: EndpointHttp,
  c: ProjectCredentials,
  choice: EndpointChoice,
): Promise<GlanceSession> {
  const res = await http.request(`${c.authUrl.replace(/\/+$/, '')}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: c.username, domain: { name: c.userDomain }, password: c.password } },
        },
        scope: { project: { name: c.project, domain: { name: c.projectDomain } } },
      },
    }),
    timeoutMs: TIMEOUT_MS,
  });
  if (res.status === 401 || res.status === 403) {
    throw new KeystoneAuthError(
      'KeystoneAuthFailed',
      `Keystone refused user ${c.username} in project ${c.project} (HTTP ${res.status})`,
    );
  }
  const token = res.headers['x-subject-token'];
  if (res.status !== 201 || typeof token !== 'string' || !token) {
    throw new Error(`Keystone token request: HTTP ${res.status}`);
  }
  const body = tokenBody.parse(JSON.parse(res.text));
  return {
    token,
    projectId: body.token.project.id,
    imageUrl: choice.imageUrl ?? imageEndpoint(body.token.catalog, choice),
    expiresAt: Date.parse(body.token.expires_at) || Date.now() + 300_000,
  };
}

function imageEndpoint(
  catalog: z.output<typeof tokenBody>['token']['catalog'],
  choice: EndpointChoice,
): string {
  const endpoints = catalog
    .filter((s) => s.type === 'image')
    .flatMap((s) => s.endpoints)
    .filter((e) => e.interface === choice.interface && (!choice.region || e.region_id === choice.region));
  const url = endpoints[0]?.url;
  if (!url) {
    throw new KeystoneAuthError(
      'NoImageEndpoint',
      `the Keystone catalog has no ${choice.interface} image endpoint` +
        (choice.region ? ` in region ${choice.region}` : ''),
    );
  }
  return url.replace(/\/+$/, '').replace(/\/v2$/, '');
}
