import type { V1Secret } from '@kubernetes/client-node';
import { TerminalError } from './errors.js';
import type { KubeClient } from './kube-client.js';

export function decodeSecretValue(secret: V1Secret, key: string): string | undefined {
  const data = secret.data?.[key];
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}

/** One value of a Secret the spec references; a missing Secret or key is for a person to fix. */
export async function readSecretValue(
  kube: KubeClient,
  namespace: string,
  name: string,
  key: string,
): Promise<string> {
  const secret = await kube.read<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  if (!secret) throw new TerminalError('SecretNotFound', `Secret ${namespace}/${name} does not exist`);
  const value = decodeSecretValue(secret, key);
  if (value === undefined || value === '') {
    throw new TerminalError('SecretKeyMissing', `Secret ${namespace}/${name} has no key "${key}"`);
  }
  return value;
}
