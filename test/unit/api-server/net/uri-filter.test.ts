import { internalAddressClass } from '../../../../api-server/src/net/address-class.js';
import {
  resolveDestination,
  type Resolve,
  type ResolvedAddress,
} from '../../../../api-server/src/net/destination.js';
import { UriRefused, type ImportFiltering } from '../../../../api-server/src/net/uri-filter.js';

// The web-download filter as a decision table: upstream's [import_filtering_opts] lists, then this server's
// default refusal of internal addresses, judged on the address a connection would really use. Host names
// resolve through a table here, so each case says exactly what DNS would answer.

const DEFAULTS: ImportFiltering = {
  allowed_schemes: ['http', 'https'],
  disallowed_schemes: [],
  allowed_hosts: [],
  disallowed_hosts: [],
  allowed_ports: [80, 443],
  disallowed_ports: [],
};

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

const DNS: Record<string, ResolvedAddress[]> = {
  'images.example.com': [v4('93.184.216.34')],
  'metadata.example.com': [v4('169.254.169.254')],
  'intranet.example.com': [v4('10.1.2.3')],
  'sneaky.example.com': [v4('127.0.0.1')],
  'mapped.example.com': [v6('::ffff:127.0.0.1')],
  'mixed.example.com': [v4('192.168.0.10'), v6('fe80::1%eth0'), v4('93.184.216.34')],
  'v6only.example.com': [v6('2606:2800:220:1:248:1893:25c8:1946')],
  'internal6.example.com': [v6('fd12:3456::1')],
};

const resolveFromTable: Resolve = (host) => {
  const found = DNS[host];
  return found ? Promise.resolve(found) : Promise.reject(new Error(`ENOTFOUND ${host}`));
};

async function verdict(uri: string, filtering: Partial<ImportFiltering> = {}): Promise<string> {
  try {
    const dest = await resolveDestination(uri, { ...DEFAULTS, ...filtering }, resolveFromTable);
    return `connect ${dest.address}:${dest.port}`;
  } catch (err) {
    if (err instanceof UriRefused) return `refused: ${err.message}`;
    throw err;
  }
}

describe('web-download URIs with the default filter', () => {
  it.each([
    ['http://93.184.216.34/image.qcow2', 'connect 93.184.216.34:80'],
    ['https://images.example.com/image.qcow2', 'connect 93.184.216.34:443'],
    ['http://images.example.com:80/image.qcow2', 'connect 93.184.216.34:80'],
    ['http://v6only.example.com/x', 'connect 2606:2800:220:1:248:1893:25c8:1946:80'],
    // A host with internal and public addresses is reached on its first public one only.
    ['http://mixed.example.com/x', 'connect 93.184.216.34:80'],
  ])('%s is fetched: %s', async (uri, expected) => {
    expect(await verdict(uri)).toBe(expected);
  });

  it.each([
    ['http://127.0.0.1/x', 'loopback'],
    ['http://127.8.9.10/x', 'loopback'],
    ['http://[::1]/x', 'loopback'],
    ['http://[::ffff:127.0.0.1]/x', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://[fe80::1]/x', 'link-local'],
    ['http://10.0.0.1/x', 'private'],
    ['http://172.16.5.4/x', 'private'],
    ['http://192.168.1.1/x', 'private'],
    ['http://100.64.0.1/x', 'private'],
    ['http://[fd00::1]/x', 'private'],
    ['http://0.0.0.0/x', 'unspecified'],
    ['http://224.0.0.1/x', 'multicast'],
    ['http://192.0.2.10/x', 'reserved'],
  ])('%s is refused as a %s address', async (uri, cls) => {
    expect(await verdict(uri)).toMatch(new RegExp(`^refused: no allowed addresses .* is an? ${cls} address`));
  });

  it.each([
    ['http://sneaky.example.com/x', 'loopback'],
    ['http://metadata.example.com/x', 'link-local'],
    ['http://intranet.example.com/x', 'private'],
    ['http://mapped.example.com/x', 'loopback'],
    ['http://internal6.example.com/x', 'private'],
  ])('%s resolves to an internal address and is refused (%s)', async (uri, cls) => {
    expect(await verdict(uri)).toContain(`${cls} address`);
  });

  it.each([
    // Numeric spellings resolvers turn into 127.0.0.1.
    'http://2130706433/x',
    'http://127.1/x',
    'http://0x7f000001/x',
    'http://0x7f.0.0.1/x',
    'http://017700000001/x',
    'http://127.000.000.001/x',
  ])('the encoded address %s is refused as a host', async (uri) => {
    expect(await verdict(uri)).toMatch(/^refused: (host not allowed|invalid external URI)/);
  });

  it.each([
    ['ftp://images.example.com/x', 'scheme not allowed'],
    ['file:///etc/passwd', 'scheme not allowed'],
    ['images.example.com/x', 'scheme not allowed'],
    ['http://images.example.com:8080/x', 'port not allowed'],
    ['http://images.example.com:99999/x', 'invalid port'],
    ['http://nowhere.example.com/x', 'failed to resolve external host nowhere.example.com'],
    ['http:///x', 'host not allowed'],
    ['', 'empty external URI'],
    ['http://images.example.com/a b', 'invalid external URI'],
    ['http://user@images.example.com@10.0.0.1/x', 'private address'],
  ])('%s is refused: %s', async (uri, reason) => {
    expect(await verdict(uri)).toContain(reason);
  });
});

describe('refusal messages', () => {
  it('never repeat a password from the URI (they reach logs and task records)', async () => {
    const message = await verdict('ftp://user:s3cret@images.example.com/x');
    expect(message).toBe('refused: scheme not allowed for external URI: ftp://***@images.example.com/x');
  });
});

describe('web-download URIs with [import_filtering_opts] set', () => {
  it('permits an explicitly allowed host even on a loopback address, and only that host', async () => {
    const filtering = { allowed_hosts: ['127.0.0.1'] };
    expect(await verdict('http://127.0.0.1/tiny.qcow2', filtering)).toBe('connect 127.0.0.1:80');
    expect(await verdict('http://images.example.com/x', filtering)).toContain('host not allowed');
    expect(await verdict('http://169.254.169.254/x', filtering)).toContain('host not allowed');
  });

  it('trusts an allowed host name with whatever it resolves to', async () => {
    expect(await verdict('http://sneaky.example.com/x', { allowed_hosts: ['sneaky.example.com'] })).toBe(
      'connect 127.0.0.1:80',
    );
  });

  it('refuses disallowed hosts by name and by resolved address, unless an allow list is set', async () => {
    expect(
      await verdict('http://images.example.com/x', { disallowed_hosts: ['images.example.com'] }),
    ).toContain('host not allowed');
    expect(await verdict('http://images.example.com/x', { disallowed_hosts: ['93.184.216.34'] })).toContain(
      '93.184.216.34 is in disallowed_hosts',
    );
    // Other spellings of a denied name are the same name.
    for (const uri of ['http://images.example.com./x', 'http://IMAGES.example.com/x']) {
      expect(await verdict(uri, { disallowed_hosts: ['images.example.com'] })).toContain('host not allowed');
    }
    expect(
      await verdict('http://images.example.com/x', { disallowed_hosts: ['Images.Example.COM'] }),
    ).toContain('host not allowed');
    expect(await verdict('http://images.example.com./x')).toBe('connect 93.184.216.34:80');
    expect(await verdict('http://images.example.com../x')).toContain('host not allowed');
    // Upstream ignores the deny list when an allow list exists.
    expect(
      await verdict('http://images.example.com/x', {
        allowed_hosts: ['images.example.com'],
        disallowed_hosts: ['images.example.com'],
      }),
    ).toBe('connect 93.184.216.34:80');
  });

  it('judges ports only when the URI names one, as upstream does', async () => {
    expect(await verdict('http://images.example.com/x', { allowed_ports: [8080] })).toBe(
      'connect 93.184.216.34:80',
    );
    expect(await verdict('http://images.example.com:80/x', { allowed_ports: [8080] })).toContain(
      'port not allowed',
    );
    expect(await verdict('http://images.example.com:8080/x', { allowed_ports: [8080] })).toBe(
      'connect 93.184.216.34:8080',
    );
    expect(
      await verdict('http://images.example.com:8443/x', { allowed_ports: [], disallowed_ports: [8443] }),
    ).toContain('port not allowed');
  });

  it('still downloads only http and https when other schemes are allowed', async () => {
    expect(await verdict('ftp://images.example.com/x', { allowed_schemes: ['ftp'] })).toContain(
      'only http and https',
    );
    expect(await verdict('https://images.example.com/x', { allowed_schemes: ['http'] })).toContain(
      'scheme not allowed',
    );
  });
});

describe('internalAddressClass', () => {
  it.each([
    ['8.8.8.8', null],
    ['2001:4860:4860::8888', null],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a00:1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
    ['2001:db8::1', 'reserved'],
    ['ff02::1', 'multicast'],
    ['not an address', 'reserved'],
  ])('%s is %s', (address, cls) => {
    expect(internalAddressClass(address)).toBe(cls);
  });
});
