import type { V1Secret } from '@kubernetes/client-node';
import { TerminalError } from './errors.js';
import type { KubeClient, StoredObject } from './kube-client.js';

export function decodeSecretValue(secret: V1Secret, key: string): string | undefined {
  const data = secret.data?.[key];
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}

/** One value of a Secret already read; a missing or empty key is for a person to fix. */
export function requireSecretValue(secret: V1Secret, key: string): string {
  const value = decodeSecretValue(secret, key);
  if (value === undefined || value === '') {
    const { namespace, name } = secret.metadata ?? {};
    throw new TerminalError('SecretKeyMissing', `Secret ${namespace}/${name} has no key "${key}"`);
  }
  return value;
}

/** A Secret without the access label: Stalled, reason SecretNotAllowed. */
export class SecretNotAllowedError extends TerminalError {
  override readonly name = 'SecretNotAllowedError';
}

/**
 * Every read of a Secret a resource names (or whose name follows from it). Whoever may create that resource
 * chooses the Secret and where its values are sent (headers to a source, credentials to a Keystone or a
 * database host), and may well not be allowed to read it: so only a Secret carrying `accessLabel: "true"` is
 * read, a label its owner sets to say the operator may use it on behalf of the namespace's authors.
 */
export class SecretReader {
  /**
   * `refuse` may turn down a labelled Secret for this use (saying why, after its name), as a Secret made for one
   * resource that another names.
   */
  constructor(
    private readonly kube: KubeClient,
    readonly accessLabel: string,
    private readonly refuse: (secret: V1Secret) => string | null = () => null,
  ) {}

  /** The Secret, or undefined if there is none; one without the label is for a person to fix. */
  async find(namespace: string, name: string): Promise<StoredObject<V1Secret> | undefined> {
    const secret = await this.kube.read<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name });
    if (secret && secret.metadata.labels?.[this.accessLabel] !== 'true') {
      throw new SecretNotAllowedError(
        'SecretNotAllowed',
        `Secret ${namespace}/${name} lacks the label ${this.accessLabel}="true": the operator reads only ` +
          'Secrets carrying it; if this one is meant for the operator: ' +
          `kubectl label secret -n ${namespace} ${name} ${this.accessLabel}=true`,
      );
    }
    const refusal = secret && this.refuse(secret);
    if (refusal)
      throw new SecretNotAllowedError('SecretNotAllowed', `Secret ${namespace}/${name} ${refusal}`);
    return secret;
  }

  /** The Secret; a missing one is for a person to fix. */
  async read(namespace: string, name: string): Promise<StoredObject<V1Secret>> {
    const secret = await this.find(namespace, name);
    if (!secret) throw new TerminalError('SecretNotFound', `Secret ${namespace}/${name} does not exist`);
    return secret;
  }

  /** One value of the Secret; a missing key is for a person to fix. */
  async value(namespace: string, name: string, key: string): Promise<string> {
    return requireSecretValue(await this.read(namespace, name), key);
  }
}
