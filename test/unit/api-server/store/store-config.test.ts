import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../../api-server/src/config/errors.js';
import { loadConfig } from '../../../../api-server/src/config/load.js';
import { StoreRegistry, type StoreFactory } from '../../../../api-server/src/store/registry.js';
import { resolveStoreLayout } from '../../../../api-server/src/store/store-config.js';
import type { Store } from '../../../../api-server/src/store/store.js';

const minimal = '[database]\nconnection = mysql+pymysql://glance:pw@127.0.0.1/glance\n';

let dir: string;
let counter = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'store-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function layoutOf(text: string) {
  const path = join(dir, `glance-api-${++counter}.conf`);
  writeFileSync(path, `${text}\n${minimal}`);
  return resolveStoreLayout(loadConfig(path, {}));
}

function problemsOf(text: string): readonly string[] {
  try {
    layoutOf(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

// A unit test needs no cluster: every store is a stand-in that only records its spec.
const fake: StoreFactory = (spec) => ({ scheme: spec.type }) as unknown as Store;

describe('resolveStoreLayout', () => {
  it("opens glance_store's defaults (file and http, uploads to file) without enabled_backends", () => {
    const layout = layoutOf('[glance_store]\nfilesystem_store_datadir = /srv/images\n');
    expect(layout).toEqual({
      multistore: false,
      defaultId: 'file',
      stores: [
        { id: 'file', type: 'file', datadir: '/srv/images' },
        { id: 'http', type: 'http', options: expect.objectContaining({ https_insecure: true }) },
      ],
    });
  });

  it("reads the install guide's rbd section, with legacy driver names", () => {
    const layout = layoutOf(
      '[glance_store]\nstores = glance.store.rbd.Store, http\ndefault_store = rbd\nrbd_store_pool = images\n' +
        'rbd_store_user = glance\nrbd_store_ceph_conf = /etc/ceph/ceph.conf\nrbd_store_chunk_size = 4\n',
    );
    expect(layout.defaultId).toBe('rbd');
    expect(layout.stores[0]).toEqual({
      id: 'rbd',
      type: 'rbd',
      options: expect.objectContaining({
        rbd_store_pool: 'images',
        rbd_store_user: 'glance',
        rbd_store_ceph_conf: '/etc/ceph/ceph.conf',
        rbd_store_chunk_size: 4,
      }),
    });
  });

  it('refuses a default_store that no listed store serves, and drivers this server lacks', () => {
    expect(problemsOf('[glance_store]\nstores = file\ndefault_store = rbd\n')).toEqual([
      expect.stringContaining(':glance_store:default_store: Store for scheme rbd not found in stores'),
    ]);
    expect(problemsOf('[glance_store]\nstores = file, swift, floppy\n')).toEqual([
      expect.stringContaining('the swift store is not supported by this server'),
      expect.stringContaining('unknown store "floppy"'),
    ]);
    expect(
      problemsOf('[DEFAULT]\nenabled_backends = a:file, b:cinder\n[glance_store]\ndefault_backend = a\n'),
    ).toEqual([expect.stringContaining('store b is of type cinder, which this server does not support')]);
  });

  it('gives every backend of enabled_backends its own section, the default one named by default_backend', () => {
    const layout = layoutOf(
      '[DEFAULT]\nenabled_backends = fast:file, ceph:rbd, web:http\n[glance_store]\ndefault_backend = ceph\n' +
        '[fast]\nfilesystem_store_datadir = /srv/fast\n[ceph]\nrbd_store_pool = vms\n[web]\nhttps_insecure = false\n',
    );
    expect(layout.multistore).toBe(true);
    expect(layout.defaultId).toBe('ceph');
    expect(layout.stores).toEqual([
      { id: 'fast', type: 'file', datadir: '/srv/fast' },
      { id: 'ceph', type: 'rbd', options: expect.objectContaining({ rbd_store_pool: 'vms' }) },
      { id: 'web', type: 'http', options: expect.objectContaining({ https_insecure: false }) },
    ]);
  });
});

describe('StoreRegistry', () => {
  const registry = new StoreRegistry(
    {
      multistore: true,
      defaultId: 'ceph',
      stores: [
        { id: 'fast', type: 'file', datadir: '/srv/fast' },
        { id: 'slow', type: 'file', datadir: '/srv/slow' },
        { id: 'ceph', type: 'rbd', options: {} as never },
        {
          id: 'web',
          type: 'http',
          options: { https_insecure: true, https_ca_certificates_file: null, filtering: {} as never },
        },
      ],
    },
    fake,
  );

  it('finds the store of a location by its store metadata first, then by scheme and data directory', () => {
    expect(registry.default.id).toBe('ceph');
    expect(registry.forLocation({ url: 'file:///srv/fast/x', metadata: { store: 'slow' } })?.id).toBe('slow');
    expect(registry.forLocation({ url: 'file:///srv/slow/x', metadata: {} })?.id).toBe('slow');
    expect(registry.forLocation({ url: 'rbd://f/images/x/snap', metadata: { store: 'gone' } })?.id).toBe(
      'ceph',
    );
    expect(registry.idForUrl('HTTPS://example.com/a.img')).toBe('web');
    expect(registry.forLocation({ url: 'swift://a/b', metadata: {} })).toBeUndefined();
    expect([...registry.knownSchemes()].sort()).toEqual(['file', 'filesystem', 'http', 'https', 'rbd']);
  });
});
