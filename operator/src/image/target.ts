import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  apiServiceUrl,
  GENERATED_PASSWORD_KEY,
  GLANCE_SERVICE,
  isGeneratedCredentials,
  keystonePasswordSecretName,
  OPERATOR_ACCESS_LABEL,
  parseGlanceServiceSpec,
  type GlanceService,
} from '../api/glance-service-types.js';
import type { ImageSpec } from '../api/image-types.js';
import { TerminalError } from '../runtime/errors.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { decodeSecretValue, requireSecretValue, SecretReader } from '../runtime/secrets.js';
import { GlanceImages, type GlanceImagesApi } from './glance-images.js';
import { EndpointHttp } from '../net/endpoint-http.js';
import type { UrlPolicy } from '../net/url-policy.js';
import type { SourceAccess } from './http-source.js';
import {
  openGlanceSession,
  type EndpointChoice,
  type GlanceSession,
  type ProjectCredentials,
} from './keystone-session.js';

export interface GlanceTarget {
  credentials: ProjectCredentials;
  endpoint: EndpointChoice;
  /**
   * The API Service the operator created for the GlanceService targeted: not chosen by an author, so reached
   * without the URL policy (which refuses the cluster's Service range). Every other URL is checked.
   */
  trustedImageUrl?: string;
}

/**
 * The Secrets an Image's author names for values the operator sends where the author points (a source's headers
 * or basic auth, a cloud's credentials). The GlanceService passwords the operator generated carry its access
 * label (their GlanceService and its Images' uploads use them) but are never used this way.
 */
function authorSecrets(kube: KubeClient): SecretReader {
  return new SecretReader(kube, OPERATOR_ACCESS_LABEL, (secret) =>
    isGeneratedCredentials(secret.metadata?.labels)
      ? "holds a password the operator generated for a GlanceService; it is used only on that GlanceService's " +
        'behalf, never sent where an Image points'
      : null,
  );
}

/**
 * Who uploads, and where: the Keystone user the operator registered for a GlanceService (its generated or
 * referenced password), or the credentials in the Secret `cloud.credentialsSecretRef` names.
 */
export async function resolveTarget(
  kube: KubeClient,
  namespace: string,
  spec: ImageSpec,
): Promise<GlanceTarget> {
  const secrets = new SecretReader(kube, OPERATOR_ACCESS_LABEL);
  if (spec.cloud) {
    const { name } = spec.cloud.credentialsSecretRef;
    const secret = await authorSecrets(kube).read(namespace, name);
    const value = (key: string) => decodeSecretValue(secret, key);
    const required = (key: string) => requireSecretValue(secret, key);
    return {
      credentials: {
        authUrl: spec.cloud.authUrl,
        username: required('username'),
        password: required('password'),
        project: required('project'),
        userDomain: value('userDomain') || 'Default',
        projectDomain: value('projectDomain') || 'Default',
      },
      endpoint: {
        interface: spec.cloud.interface,
        ...(spec.cloud.region ? { region: spec.cloud.region } : {}),
        ...(spec.cloud.imageUrl ? { imageUrl: spec.cloud.imageUrl } : {}),
      },
    };
  }
  const ref = spec.glanceServiceRef;
  if (!ref) throw new TerminalError('InvalidSpec', 'spec: set exactly one of glanceServiceRef and cloud');
  const gs = await kube.getCustom<GlanceService>(GLANCE_SERVICE, namespace, ref.name);
  // Not terminal: with GitOps the GlanceService may simply be applied after the Image.
  if (!gs) throw new Error(`GlanceService ${namespace}/${ref.name} does not exist (yet)`);
  const parsed = parseGlanceServiceSpec(gs.spec);
  if ('error' in parsed) {
    throw new TerminalError('GlanceServiceInvalid', `GlanceService ${ref.name} is invalid: ${parsed.error}`);
  }
  const ks = parsed.spec.keystone;
  const password = ks.passwordSecretRef
    ? await secrets.value(namespace, ks.passwordSecretRef.name, ks.passwordSecretRef.key)
    : await readGeneratedPassword(secrets, namespace, keystonePasswordSecretName(ref.name));
  return {
    credentials: {
      authUrl: ks.authUrl,
      username: ks.userName,
      password,
      project: ks.projectName,
      userDomain: ks.serviceDomainName,
      projectDomain: ks.serviceDomainName,
    },
    endpoint: { interface: ref.interface, region: ks.region },
    trustedImageUrl: apiServiceUrl(ref.name, namespace),
  };
}

/** The target's Keystone and Glance under the URL policy, but for the operator's own API Service. */
function endpointHttp(policy: UrlPolicy, target: GlanceTarget): EndpointHttp {
  return new EndpointHttp(policy, target.trustedImageUrl ? [target.trustedImageUrl] : []);
}

/**
 * Refuses, before any credential is sent, a Keystone or Glance URL of the target that the URL policy does not
 * allow (Stalled, EndpointNotAllowed). The connector checks every connection again, and the catalog's image URL.
 */
export async function checkTargetEndpoints(policy: UrlPolicy, target: GlanceTarget): Promise<void> {
  const http = endpointHttp(policy, target);
  await http.lookupFor(new URL(target.credentials.authUrl));
  if (target.endpoint.imageUrl) await http.lookupFor(new URL(target.endpoint.imageUrl));
}

async function readGeneratedPassword(
  secrets: SecretReader,
  namespace: string,
  name: string,
): Promise<string> {
  const secret = await secrets.find(namespace, name);
  const value = secret && decodeSecretValue(secret, GENERATED_PASSWORD_KEY);
  // The GlanceService controller generates it on its first pass: wait for that.
  if (!value)
    throw new Error(`Secret ${namespace}/${name} (the GlanceService's Keystone password) is not there yet`);
  return value;
}

/** Keystone sessions by credentials, reused until shortly before their token expires. */
class SessionCache {
  private readonly sessions = new Map<string, GlanceSession>();

  private static keyOf(target: GlanceTarget): string {
    return createHash('sha256').update(JSON.stringify(target)).digest('hex');
  }

  async get(target: GlanceTarget, http: EndpointHttp): Promise<GlanceSession> {
    const key = SessionCache.keyOf(target);
    const cached = this.sessions.get(key);
    if (cached && cached.expiresAt - Date.now() > 300_000) return cached;
    const session = await openGlanceSession(http, target.credentials, target.endpoint);
    this.sessions.set(key, session);
    return session;
  }

  /** After Glance refused the token (revoked, Keystone restarted with new keys). */
  drop(target: GlanceTarget): void {
    this.sessions.delete(SessionCache.keyOf(target));
  }
}

/** Opens the Image API of a target. */
export interface GlanceConnector {
  connect(target: GlanceTarget): Promise<GlanceImagesApi>;
  /** Forgets the session of `target` after Glance refused its token (revoked, Keystone restarted with new keys). */
  forget(target: GlanceTarget): void;
}

/**
 * The Image API with a project token from Keystone, reused until shortly before it expires; Keystone and
 * Glance reached under the URL policy, each connection checked and pinned.
 */
export class KeystoneGlanceConnector implements GlanceConnector {
  private readonly sessions = new SessionCache();

  constructor(
    private readonly policy: UrlPolicy,
    private readonly onWrite: (operation: string) => void,
  ) {}

  async connect(target: GlanceTarget): Promise<GlanceImagesApi> {
    const http = endpointHttp(this.policy, target);
    const session = await this.sessions.get(target, http);
    // The catalog's image URL is the Keystone's to choose: checked before the first call sends it the token.
    await http.lookupFor(new URL(session.imageUrl));
    return new GlanceImages(session, http, this.onWrite);
  }

  forget(target: GlanceTarget): void {
    this.sessions.drop(target);
  }
}

/** The source's headers, basic auth and CA bundle, read from the Secrets and ConfigMap the spec names. */
export async function resolveSourceAccess(
  kube: KubeClient,
  namespace: string,
  source: ImageSpec['source'],
  policy: UrlPolicy,
): Promise<SourceAccess> {
  const access: SourceAccess = { headers: {}, policy };
  const secrets = authorSecrets(kube);
  if (source.headersSecretRef) {
    const { name } = source.headersSecretRef;
    const secret = await secrets.read(namespace, name);
    for (const key of Object.keys(secret.data ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
        throw new TerminalError('InvalidHeader', `Secret ${name}: "${key}" is not an HTTP header name`);
      }
      const value = decodeSecretValue(secret, key) ?? '';
      if (/[\r\n]/.test(value)) {
        throw new TerminalError('InvalidHeader', `Secret ${name}: the value of "${key}" spans lines`);
      }
      access.headers[key] = value;
    }
  }
  if (source.basicAuthSecretRef) {
    const { name, usernameKey, passwordKey } = source.basicAuthSecretRef;
    const secret = await secrets.read(namespace, name);
    access.basicAuth = {
      username: requireSecretValue(secret, usernameKey),
      password: requireSecretValue(secret, passwordKey),
    };
  }
  if (source.caBundleRef) {
    const { name, key } = source.caBundleRef;
    const cm = await kube.read<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });
    if (!cm) throw new TerminalError('ConfigMapNotFound', `ConfigMap ${namespace}/${name} does not exist`);
    const ca = cm.data?.[key];
    if (!ca)
      throw new TerminalError('ConfigMapKeyMissing', `ConfigMap ${namespace}/${name} has no key "${key}"`);
    access.ca = ca;
  }
  if (source.proxy) access.proxy = source.proxy;
  return access;
}
