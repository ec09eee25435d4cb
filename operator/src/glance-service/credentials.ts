import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import {
  GENERATED_PASSWORD_KEY,
  isGeneratedCredentials,
  OPERATOR_ACCESS_LABEL,
  type GlanceService,
} from '../api/glance-service-types.js';
import { eventTarget, type EventRecorder } from '../runtime/events.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { decodeSecretValue, SecretNotAllowedError, SecretReader } from '../runtime/secrets.js';
import { labels, ownerReference } from './names.js';

/**
 * The Secrets a GlanceService names or owns, read only when labelled for the operator; a password the operator
 * generated for another GlanceService is not one of them (this one's author would send it where they point).
 */
export function secretsOf(kube: KubeClient, gs: GlanceService): SecretReader {
  return new SecretReader(kube, OPERATOR_ACCESS_LABEL, (secret) => {
    const owner = secret.metadata?.labels?.['app.kubernetes.io/instance'];
    return isGeneratedCredentials(secret.metadata?.labels) && owner !== gs.metadata.name
      ? `holds a password the operator generated for GlanceService ${owner ?? '?'}, used only on its behalf`
      : null;
  });
}

// Images read the generated Keystone password, and this operator reads only labelled Secrets.
const generatedLabels = (gs: GlanceService) => ({
  ...labels(gs.metadata.name, 'credentials'),
  [OPERATOR_ACCESS_LABEL]: 'true',
});

/** 32 characters from [A-Za-z0-9]: safe in a URL, an INI file and a shell without quoting. */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  // 248 = 4·62, so taking bytes below it modulo 62 is unbiased.
  let out = '';
  while (out.length < 32) {
    for (const b of randomBytes(48)) {
      if (b < 248 && out.length < 32) out += alphabet[b % 62];
    }
  }
  return out;
}

/**
 * The password in the owned Secret `name`, generated on first use. The Secret is created, never applied, so
 * that two racing reconciles cannot each write a different password: the loser reads the winner's. It carries
 * the access label like any Secret the operator reads, so that a Secret of that name made by someone else
 * is not used.
 */
export async function generatedPassword(
  kube: KubeClient,
  events: EventRecorder,
  gs: GlanceService,
  name: string,
  purpose: string,
): Promise<string> {
  const { namespace } = gs.metadata;
  const secrets = secretsOf(kube, gs);
  const existing = await secrets.find(namespace, name).catch(async (err: unknown) => {
    if (!(err instanceof SecretNotAllowedError) || !(await labelIfOurs(kube, gs, name))) throw err;
    return secrets.find(namespace, name);
  });
  const found = existing && decodeSecretValue(existing, GENERATED_PASSWORD_KEY);
  if (found) return found;
  const password = generatePassword();
  const created = await kube.createIfAbsent<V1Secret>({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: generatedLabels(gs),
      ownerReferences: [ownerReference(gs)],
    },
    type: 'Opaque',
    data: { [GENERATED_PASSWORD_KEY]: Buffer.from(password).toString('base64') },
  });
  if (created) {
    await events.record(
      eventTarget(gs),
      'Normal',
      'PasswordGenerated',
      `Generated the ${purpose} password into Secret ${name}`,
    );
    return password;
  }
  return secrets.value(namespace, name, GENERATED_PASSWORD_KEY);
}

/**
 * Labels a password Secret this GlanceService generated before the operator read only labelled Secrets, and
 * says whether it did. Only its own: anyone else's Secret of that name stays refused.
 */
async function labelIfOurs(kube: KubeClient, gs: GlanceService, name: string): Promise<boolean> {
  const { namespace, uid } = gs.metadata;
  const secret = await kube.read<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  if (!secret?.metadata.ownerReferences?.some((o) => o.controller && o.uid === uid)) return false;
  await kube.apply<V1Secret>({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: generatedLabels(gs) },
  });
  return true;
}
