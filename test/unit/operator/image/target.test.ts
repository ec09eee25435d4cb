import { UrlPolicy, urlPolicyEnv } from '../../../../operator/src/net/url-policy.js';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { OPERATOR_ACCESS_LABEL } from '../../../../operator/src/api/glance-service-types.js';
import { parseImageSpec, type ImageSpec } from '../../../../operator/src/api/image-types.js';
import { TerminalError } from '../../../../operator/src/runtime/errors.js';
import { resolveSourceAccess, resolveTarget } from '../../../../operator/src/image/target.js';
import type { KubeClient } from '../../../../operator/src/runtime/kube-client.js';
import { FakeKubeClient } from '../../../fakes/kube-client.js';

const policy = new UrlPolicy(urlPolicyEnv.parse({}));

// The objects target.ts reads, by kind/name, each labelled for the operator; Secret data is given in clear.
function fakeKube(objects: Record<string, object>): KubeClient {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kube = new FakeKubeClient();
  for (const [key, value] of Object.entries(objects)) {
    const [kind, name] = key.split('/') as [string, string];
    const data = (value as { data?: Record<string, string> }).data;
    kube.seed({
      apiVersion: kind === 'GlanceService' ? 'glance.stackops.dev/v1alpha1' : 'v1',
      kind,
      metadata: { name, namespace: 'ns', labels: { [OPERATOR_ACCESS_LABEL]: 'true' } },
      ...value,
      ...(kind === 'Secret' && data
        ? { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) }
        : {}),
    });
  }
  return kube;
}

const spec = (extra: object): ImageSpec => {
  const parsed = parseImageSpec({ diskFormat: 'raw', source: { url: 'http://x/a.img' }, ...extra });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.spec;
};

describe('Image target', () => {
  it("uses the GlanceService's Keystone user, project, region and generated password", async () => {
    const kube = fakeKube({
      'GlanceService/glance': {
        spec: {
          image: 'x',
          database: { host: 'db', adminSecretRef: { name: 'db' } },
          keystone: {
            authUrl: 'http://keystone:5000/v3',
            region: 'RegionX',
            adminSecretRef: { name: 'ks' },
            userName: 'glance-x',
          },
        },
      },
      'Secret/glance-keystone-password': { data: { password: 'generated' } },
    });
    await expect(resolveTarget(kube, 'ns', spec({ glanceServiceRef: { name: 'glance' } }))).resolves.toEqual({
      credentials: {
        authUrl: 'http://keystone:5000/v3',
        username: 'glance-x',
        password: 'generated',
        project: 'service',
        userDomain: 'Default',
        projectDomain: 'Default',
      },
      endpoint: { interface: 'internal', region: 'RegionX' },
      // The API Service the operator made for it: reached without the URL policy.
      trustedImageUrl: 'http://glance-api.ns.svc:9292',
    });
  });

  it('waits (a transient error) for a GlanceService that is not there yet', async () => {
    const err: unknown = await resolveTarget(
      fakeKube({}),
      'ns',
      spec({ glanceServiceRef: { name: 'glance' } }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TerminalError);
  });

  it('stalls on a cloud Secret without a password', async () => {
    const kube = fakeKube({ 'Secret/cloud': { data: { username: 'u', project: 'p' } } });
    const cloud = { authUrl: 'http://k:5000/v3', credentialsSecretRef: { name: 'cloud' } };
    await expect(resolveTarget(kube, 'ns', spec({ cloud }))).rejects.toMatchObject({
      reason: 'SecretKeyMissing',
    });
  });

  it('reads source headers, basic auth and a CA bundle, refusing a header value that spans lines', async () => {
    const kube = fakeKube({
      'Secret/headers': { data: { 'X-Token': 't' } },
      'Secret/basic': { data: { username: 'u', password: 'p' } },
      'ConfigMap/ca': { data: { 'ca.crt': 'PEM' } },
      'Secret/bad': { data: { 'X-Token': 'a\r\nHost: evil' } },
    });
    const source = spec({
      cloud: { authUrl: 'http://k:5000/v3', credentialsSecretRef: { name: 'c' } },
      source: {
        url: 'http://x/a.img',
        headersSecretRef: { name: 'headers' },
        basicAuthSecretRef: { name: 'basic' },
        caBundleRef: { name: 'ca' },
        proxy: 'http://proxy:3128',
      },
    }).source;
    await expect(resolveSourceAccess(kube, 'ns', source, policy)).resolves.toEqual({
      headers: { 'X-Token': 't' },
      basicAuth: { username: 'u', password: 'p' },
      ca: 'PEM',
      proxy: 'http://proxy:3128',
      policy,
    });
    await expect(
      resolveSourceAccess(kube, 'ns', { ...source, headersSecretRef: { name: 'bad' } }, policy),
    ).rejects.toMatchObject({ reason: 'InvalidHeader' });
  });
});

describe('samples/image.yaml', () => {
  it('is a valid Image', () => {
    const sample = parse(
      readFileSync(new URL('../../../../samples/image.yaml', import.meta.url), 'utf8'),
    ) as {
      spec: unknown;
    };
    expect(parseImageSpec(sample.spec)).toHaveProperty('spec.source.checksumURL');
  });
});
