import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  pinnedLookup,
  UrlNotAllowed,
  UrlPolicy,
  urlPolicyEnv,
  type CheckedAddress,
} from '../../../../operator/src/net/url-policy.js';

const settings = (env: Record<string, string> = {}) => urlPolicyEnv.parse(env);

function resolverOf(table: Record<string, string[]>) {
  return async (host: string): Promise<CheckedAddress[]> =>
    (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof UrlNotAllowed) return err.message;
    throw err;
  }
  throw new Error('expected the policy to refuse');
}

describe('URL policy defaults', () => {
  const policy = new UrlPolicy(settings(), ['10.96.0.1'], resolverOf({}));

  it.each([
    'http://127.0.0.1/x',
    'http://127.8.9.10:8080/x',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://[fe80::1]/x',
    'http://0.0.0.0/x',
    'http://[fd00:ec2::254]/x',
    'https://10.96.0.1/api',
  ])('refuses %s and names the address', async (url) => {
    const message = await refusal(policy.check(new URL(url)));
    expect(message).toContain(new URL(url).hostname.replace(/^\[|\]$/g, ''));
  });

  it('allows an ordinary public address', async () => {
    await expect(policy.check(new URL('https://93.184.215.14/cirros.img'))).resolves.toEqual({
      address: '93.184.215.14',
      family: 4,
    });
  });

  it('refuses what is not http or https', async () => {
    expect(await refusal(policy.check(new URL('file:///etc/passwd')))).toMatch(/file: URLs/);
  });
});

describe('URL policy with names', () => {
  const resolve = resolverOf({
    'mirror.example': ['93.184.215.14'],
    'rebind.example': ['93.184.215.14', '169.254.169.254'],
    'local.example': ['127.0.0.1'],
  });
  const policy = new UrlPolicy(settings(), [], resolve);

  it('refuses a name that resolves to a refused address, naming both', async () => {
    const message = await refusal(policy.check(new URL('http://local.example/x')));
    expect(message).toContain('local.example (127.0.0.1)');
  });

  it('refuses a name if any of its addresses is refused', async () => {
    await refusal(policy.check(new URL('http://rebind.example/x')));
  });

  it('checks a name written with a trailing dot the same way', async () => {
    await refusal(policy.check(new URL('http://local.example./x')));
  });

  it('gives up on a name that does not resolve in time, as a transient failure', async () => {
    const hanging = new UrlPolicy(settings(), [], () => new Promise(() => undefined), 50);
    const err: unknown = await hanging.check(new URL('http://slow.example/x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UrlNotAllowed);
    expect((err as Error).message).toBe('slow.example did not resolve within 0.05 s');
  });

  it('returns the checked address of an allowed name', async () => {
    await expect(policy.check(new URL('http://mirror.example/x'))).resolves.toEqual({
      address: '93.184.215.14',
      family: 4,
    });
  });
});

describe('URL policy settings', () => {
  it('denies the configured pod and Service ranges', async () => {
    const policy = new UrlPolicy(
      settings({ URL_POLICY_DENY: '10.244.0.0/16, 10.0.0.0/24' }),
      [],
      resolverOf({}),
    );
    await refusal(policy.check(new URL('http://10.244.3.7:8080/')));
    await refusal(policy.check(new URL('http://10.0.0.10/')));
    await expect(policy.check(new URL('http://10.1.0.1/'))).resolves.toBeDefined();
  });

  it('an allow rule with a port opens that port only', async () => {
    const policy = new UrlPolicy(settings({ URL_POLICY_ALLOW: '127.0.0.1:8099' }), [], resolverOf({}));
    await expect(policy.check(new URL('http://127.0.0.1:8099/cirros.img'))).resolves.toBeDefined();
    await refusal(policy.check(new URL('http://127.0.0.1:8098/')));
  });

  it('an allow rule without a port wins over the kube-apiserver deny', async () => {
    const policy = new UrlPolicy(
      settings({ URL_POLICY_ALLOW: '172.30.255.0/24' }),
      ['172.30.255.1'],
      resolverOf({}),
    );
    await expect(policy.check(new URL('https://172.30.255.1:6443/'))).resolves.toBeDefined();
  });

  it('rejects a malformed rule with a message naming it', () => {
    const parsed = urlPolicyEnv.safeParse({ URL_POLICY_DENY: '10.0.0.0/8,not-an-address' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('not-an-address');
  });

  it('refuses an https to http redirect unless allowed', () => {
    const strict = new UrlPolicy(settings(), [], resolverOf({}));
    expect(() => strict.checkRedirect(new URL('https://a.example/x'), new URL('http://b.example/x'))).toThrow(
      UrlNotAllowed,
    );
    expect(() =>
      strict.checkRedirect(new URL('http://a.example/x'), new URL('https://b.example/x')),
    ).not.toThrow();
    const lax = new UrlPolicy(settings({ URL_POLICY_ALLOW_HTTPS_TO_HTTP: 'true' }), [], resolverOf({}));
    expect(() =>
      lax.checkRedirect(new URL('https://a.example/x'), new URL('http://b.example/x')),
    ).not.toThrow();
  });
});

describe('pinned lookup', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => res.end(`host ${req.headers.host}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('connects to the checked address whatever the name would resolve to', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        `http://never-resolved.invalid:${port}/`,
        { lookup: pinnedLookup({ address: '127.0.0.1', family: 4 }), agent: false },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe(`host never-resolved.invalid:${port}`);
  });
});
