import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { GENERATED_PASSWORD_KEY, type GlanceService } from '../api/glance-service-types.js';
import { eventTarget, type EventRecorder } from '../runtime/events.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { decodeSecretValue, readSecretValue } from '../runtime/secrets.js';
import { labels, ownerReference } from './names.js';

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
 * that two racing reconciles cannot each write a different password: the loser reads the winner's.
 */
export async function generatedPassword(
  kube: KubeClient,
  events: EventRecorder,
  gs: GlanceService,
  name: string,
  purpose: string,
): Promise<string> {
  const { namespace } = gs.metadata;
  const ref = { apiVersion: 'v1', kind: 'Secret', namespace, name };
  const existing = await kube.read<V1Secret>(ref);
  const found = existing && decodeSecretValue(existing, GENERATED_PASSWORD_KEY);
  if (found) return found;
  const password = generatePassword();
  const created = await kube.createIfAbsent<V1Secret>({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: labels(gs.metadata.name, 'credentials'),
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
  return readSecretValue(kube, namespace, name, GENERATED_PASSWORD_KEY);
}
