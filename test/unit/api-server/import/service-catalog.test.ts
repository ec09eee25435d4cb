import {
  CatalogUnavailable,
  fetchServiceCatalog,
  glanceEndpoint,
  type ServiceCatalog,
} from '../../../../api-server/src/import/service-catalog.js';

// How glance-download finds the image service to download from, as upstream's get_glance_endpoint does on
// keystonemiddleware's v2 form of the token's catalog.

const endpoints = (region: string | null, url: string, ifaces = ['public', 'internal', 'admin']) =>
  ifaces.map((iface) => ({ interface: iface, region, url: iface === 'public' ? url : `${url}/${iface}` }));

const CATALOG: ServiceCatalog = [
  { type: 'identity', endpoints: endpoints('RegionOne', 'http://keystone:5000/v3') },
  { type: 'image-tempest', endpoints: endpoints('RegionOne', 'http://impostor:9292') },
  {
    type: 'image',
    endpoints: [
      ...endpoints('RegionOne', 'http://one:9292'),
      ...endpoints('RegionTwo', 'http://two:9292', ['admin']),
    ],
  },
  {
    type: 'image',
    endpoints: [...endpoints(null, 'http://nowhere:9292'), ...endpoints('RegionTwo', 'http://later:9292')],
  },
  { type: 'image', endpoints: endpoints('RegionThree', 'http://three:9292') },
];

describe('glanceEndpoint', () => {
  it("gives the interface's URL of the first image service with the region, the region in any case", () => {
    expect(glanceEndpoint(CATALOG, 'RegionOne', 'public')).toBe('http://one:9292');
    expect(glanceEndpoint(CATALOG, 'regionone', 'internal')).toBe('http://one:9292/internal');
    expect(glanceEndpoint(CATALOG, 'RegionThree', 'public')).toBe('http://three:9292');
  });

  it('stops at the first image service with the region even when it lacks the interface', () => {
    expect(glanceEndpoint(CATALOG, 'RegionTwo', 'admin')).toBe('http://two:9292/admin');
    expect(glanceEndpoint(CATALOG, 'RegionTwo', 'public')).toBeNull();
  });

  it('finds nothing for an unknown region or interface, nor through services of other types', () => {
    expect(glanceEndpoint(CATALOG, 'not a region', 'public')).toBeNull();
    expect(glanceEndpoint(CATALOG, 'RegionOne', 'not an interface')).toBeNull();
    expect(glanceEndpoint(CATALOG, 'RegionOne', 'Public')).toBeNull();
    expect(glanceEndpoint([CATALOG[1]!], 'RegionOne', 'public')).toBeNull();
  });
});

describe('fetchServiceCatalog', () => {
  it("reads the token's own catalog from Keystone's v3 API", async () => {
    const seen: Array<{ url: string; token: string | null }> = [];
    const fetch = (async (url: string, init: RequestInit) => {
      seen.push({ url, token: new Headers(init.headers).get('x-auth-token') });
      return Response.json({ catalog: [{ type: 'image', id: 'x', endpoints: endpoints('R', 'http://i') }] });
    }) as typeof globalThis.fetch;
    const catalog = await fetchServiceCatalog('http://keystone:5000', 'user-token', {
      fetch,
      timeoutMs: 1000,
    });
    expect(seen).toEqual([{ url: 'http://keystone:5000/v3/auth/catalog', token: 'user-token' }]);
    expect(glanceEndpoint(catalog, 'R', 'public')).toBe('http://i');
  });

  it('fails with CatalogUnavailable when Keystone refuses the token or answers nonsense', async () => {
    const answering = (response: Response) => (async () => response) as unknown as typeof globalThis.fetch;
    await expect(
      fetchServiceCatalog('http://k/v3', 't', {
        fetch: answering(new Response('', { status: 401 })),
        timeoutMs: 1000,
      }),
    ).rejects.toThrow(
      new CatalogUnavailable('Could not read the service catalog: Keystone answered HTTP 401'),
    );
    await expect(
      fetchServiceCatalog('http://k/v3', 't', {
        fetch: answering(Response.json({ services: [] })),
        timeoutMs: 1000,
      }),
    ).rejects.toBeInstanceOf(CatalogUnavailable);
  });
});
