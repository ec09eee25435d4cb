import { SecretNotAllowedError, SecretReader } from '../../../../operator/src/runtime/secrets.js';
import { TerminalError } from '../../../../operator/src/runtime/errors.js';
import { FakeKubeClient } from '../../../fakes/kube-client.js';

const LABEL = 'example.test/operator-access';

function reader(labels?: Record<string, string>): SecretReader {
  const kube = new FakeKubeClient().seed({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: 'ns', ...(labels ? { labels } : {}) },
    data: { password: Buffer.from('s3cret').toString('base64'), empty: '' },
  });
  return new SecretReader(kube, LABEL);
}

describe('SecretReader', () => {
  it('reads a Secret labelled for the operator', async () => {
    await expect(reader({ [LABEL]: 'true' }).value('ns', 'creds', 'password')).resolves.toBe('s3cret');
  });

  it.each([
    ['without labels', undefined],
    ['with other labels', { app: 'mariadb' }],
    ['with the label set to another value', { [LABEL]: 'yes' }],
  ])('refuses a Secret %s: SecretNotAllowed, naming the Secret and the label', async (_what, labels) => {
    const err: unknown = await reader(labels)
      .value('ns', 'creds', 'password')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretNotAllowedError);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({ reason: 'SecretNotAllowed' });
    expect((err as Error).message).toContain(`Secret ns/creds lacks the label ${LABEL}="true"`);
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('tells a missing Secret (SecretNotFound) and a missing or empty key (SecretKeyMissing) apart', async () => {
    const secrets = reader({ [LABEL]: 'true' });
    await expect(secrets.find('ns', 'other')).resolves.toBeUndefined();
    await expect(secrets.read('ns', 'other')).rejects.toMatchObject({ reason: 'SecretNotFound' });
    await expect(secrets.value('ns', 'creds', 'username')).rejects.toMatchObject({
      reason: 'SecretKeyMissing',
    });
    await expect(secrets.value('ns', 'creds', 'empty')).rejects.toMatchObject({ reason: 'SecretKeyMissing' });
  });
});
