import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../../api-server/src/config/errors.js';
import { loadConfig } from '../../../../api-server/src/config/load.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const CONNECTION = 'mysql+pymysql://glance:db-secret-pw@127.0.0.1/glance';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'glance-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function write(text: string): string {
  const path = join(dir, `glance-api-${++counter}.conf`);
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const minimal = `[database]\nconnection = ${CONNECTION}\n`;

describe('loadConfig', () => {
  it("loads the install guide's glance-api.conf unchanged", () => {
    const cfg = loadConfig(join(FIXTURES, 'install-guide.conf'), {});
    expect(cfg.paste_deploy.flavor).toBe('keystone');
    expect(cfg.database.connection).toBe('mysql+pymysql://glance:GLANCE_DBPASS@controller/glance');
    expect(cfg.keystone_authtoken).toMatchObject({
      www_authenticate_uri: 'http://controller:5000',
      auth_url: 'http://controller:5000',
      auth_type: 'password',
      username: 'glance',
      password: 'GLANCE_PASS',
      project_name: 'service',
      project_domain_name: 'Default',
      user_domain_name: 'Default',
      token_cache_time: 300,
    });
    expect(cfg.glance_store).toMatchObject({
      stores: ['file', 'http'],
      default_store: 'file',
      filesystem_store_datadir: '/var/lib/glance/images/',
    });
  });

  it('loads every option of the generated upstream sample, with env supplying what the sample leaves empty', () => {
    const cfg = loadConfig(join(FIXTURES, 'glance-api-all-options.conf'), {
      GLANCE_DATABASE__CONNECTION: CONNECTION,
      GLANCE_KEYSTONE_AUTHTOKEN__PASSWORD: 'service-secret',
      GLANCE_PASTE_DEPLOY__FLAVOR: 'keystone',
    });
    expect(cfg.DEFAULT).toMatchObject({
      bind_port: 9292,
      workers: 2,
      enabled_import_methods: ['glance-direct', 'web-download', 'copy-image'],
      enabled_backends: null,
      public_endpoint: null,
    });
    expect(cfg.keystone_authtoken.password).toBe('service-secret');
    expect(cfg.oslo_policy).toEqual({
      enforce_scope: false,
      enforce_new_defaults: false,
      policy_file: 'policy.yaml',
      policy_dirs: ['policy.d'],
    });
  });

  it("applies upstream's defaults to whatever the file leaves out", () => {
    const cfg = loadConfig(write(minimal), {});
    expect(cfg.DEFAULT).toMatchObject({
      bind_host: '0.0.0.0',
      bind_port: 9292,
      public_endpoint: null,
      image_size_cap: 1099511627776,
      user_storage_quota: 0,
      show_image_direct_url: false,
      show_multiple_locations: false,
      hashing_algorithm: 'sha512',
      limit_param_default: 25,
      api_limit_max: 1000,
      enabled_backends: null,
      enabled_import_methods: ['glance-direct', 'web-download', 'copy-image'],
      enforce_secure_rbac: false,
      image_cache_dir: null,
      allow_additional_image_properties: true,
      image_property_quota: 128,
      image_tag_quota: 128,
      image_member_quota: 128,
      image_location_quota: 10,
      max_request_id_length: 64,
    });
    expect(cfg.DEFAULT.workers).toBeGreaterThanOrEqual(1);
    expect(cfg.DEFAULT.workers).toBeLessThanOrEqual(8);
    expect(cfg.paste_deploy.flavor).toBeNull();
    expect(cfg.import_filtering_opts).toEqual({
      allowed_schemes: ['http', 'https'],
      disallowed_schemes: [],
      allowed_hosts: [],
      disallowed_hosts: [],
      allowed_ports: [80, 443],
      disallowed_ports: [],
    });
    expect(cfg.reserved_stores.os_glance_staging_store.filesystem_store_datadir).toBe(
      '/var/lib/glance/os_glance_staging_store',
    );
  });

  it('reads booleans case-insensitively, both list styles and size units', () => {
    const cfg = loadConfig(
      write(
        `[DEFAULT]\nshow_image_direct_url = True\nshow_multiple_locations = YES\nenforce_secure_rbac = FALSE\n` +
          `user_storage_quota = 5GB\nenabled_import_methods = ["glance-direct", 'copy-image']\n` +
          `[glance_store]\nstores = file, rbd,http,\n[import_filtering_opts]\nallowed_ports = [8080, 443]\n` +
          minimal,
      ),
      {},
    );
    expect(cfg.DEFAULT.show_image_direct_url).toBe(true);
    expect(cfg.DEFAULT.show_multiple_locations).toBe(true);
    expect(cfg.DEFAULT.enforce_secure_rbac).toBe(false);
    expect(cfg.DEFAULT.user_storage_quota).toBe(5 * 1024 ** 3);
    expect(cfg.DEFAULT.enabled_import_methods).toEqual(['glance-direct', 'copy-image']);
    expect(cfg.glance_store.stores).toEqual(['file', 'rbd', 'http']);
    expect(cfg.import_filtering_opts.allowed_ports).toEqual([8080, 443]);
  });

  it('gives each enabled backend the options of its own section', () => {
    const cfg = loadConfig(
      write(
        `[DEFAULT]\nenabled_backends = fast:file, ceph:rbd\n[glance_store]\ndefault_backend = ceph\n` +
          `[fast]\nfilesystem_store_datadir = /srv/fast\nstore_description = Fast disks\n` +
          `[ceph]\nrbd_store_pool = glance-images\nrbd_store_user = glance\n` +
          minimal,
      ),
      {},
    );
    expect(cfg.DEFAULT.enabled_backends).toEqual([
      expect.objectContaining({
        name: 'fast',
        type: 'file',
        filesystem_store_datadir: '/srv/fast',
        store_description: 'Fast disks',
      }),
      expect.objectContaining({
        name: 'ceph',
        type: 'rbd',
        rbd_store_pool: 'glance-images',
        rbd_store_user: 'glance',
        rbd_store_chunk_size: 8,
      }),
    ]);
    expect(cfg.glance_store.default_backend).toBe('ceph');
  });

  it('lets GLANCE_<SECTION>__<KEY> variables win over the file and ignores other GLANCE_ variables', () => {
    const cfg = loadConfig(write(`[DEFAULT]\nbind_port = 9393\n${minimal}`), {
      GLANCE_DEFAULT__BIND_PORT: '9494',
      GLANCE_DATABASE__CONNECTION: 'mysql://other:pw@db/glance2',
      GLANCE_STACK_ENV: '/somewhere/stack.env',
    });
    expect(cfg.DEFAULT.bind_port).toBe(9494);
    expect(cfg.database.connection).toBe('mysql://other:pw@db/glance2');
  });

  it('lists every problem at once, each as file:section:key', () => {
    const path = write(
      '[DEFAULT]\nbind_port = nine\nshow_image_direct_url = maybe\nbind_prot = 1\nimage_size_cap = 0\n' +
        '[oslo_policy]\nenforce_scope = sure\n[paste_deploy]\nflavor = keystone+magic\n',
    );
    expect(problemsOf(() => loadConfig(path, { GLANCE_DEFAULT__LIMIT_PARAM_DEFAULT: 'x' }))).toEqual([
      `${path}:DEFAULT:bind_prot: unknown option`,
      `${path}:DEFAULT:bind_port: must be an integer (got "nine")`,
      `${path}:DEFAULT:image_size_cap: must be at least 1 (got "0")`,
      `${path}:DEFAULT:show_image_direct_url: must be a boolean (true/false, yes/no, on/off, 1/0) (got "maybe")`,
      `$GLANCE_DEFAULT__LIMIT_PARAM_DEFAULT:DEFAULT:limit_param_default: must be an integer (got "x")`,
      expect.stringMatching(new RegExp(`^${path}:paste_deploy:flavor: .*keystone\\+magic`)),
      `${path}:oslo_policy:enforce_scope: must be a boolean (true/false, yes/no, on/off, 1/0) (got "sure")`,
      `${path}:database:connection: is required`,
    ]);
  });

  it('accepts the hashing algorithms hashlib can compute a hexdigest with, and no other', () => {
    expect(
      loadConfig(write(`[DEFAULT]\nhashing_algorithm = sha3_512\n${minimal}`), {}).DEFAULT.hashing_algorithm,
    ).toBe('sha3_512');
    for (const algorithm of ['shake_128', 'sha999']) {
      const path = write(`[DEFAULT]\nhashing_algorithm = ${algorithm}\n${minimal}`);
      expect(problemsOf(() => loadConfig(path, {}))).toEqual([
        `${path}:DEFAULT:hashing_algorithm: is not a hash algorithm glance could compute os_hash_value with (got "${algorithm}")`,
      ]);
    }
  });

  it('accepts any option in sections it does not interpret', () => {
    const cfg = loadConfig(
      write(`[cors]\nallowed_origin = *\n[vendor_extension]\nanything = goes\n${minimal}`),
      {},
    );
    expect(cfg.database.connection).toBe(CONNECTION);
  });

  it('never puts a secret in an error message', () => {
    const secret = 'hunter2-secret';
    const path = write(
      `[database]\nconnection = sqlite:///${secret}\n[keystone_authtoken]\npassword = pa$${secret}\n` +
        `[DEFAULT]\ntransport_url = rabbit://u:${secret}@mq\nmystery_password = ${secret}\n`,
    );
    const problems = problemsOf(() => loadConfig(path, {}));
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems).toEqual([
      `${path}:DEFAULT:mystery_password: unknown option`,
      `${path}:keystone_authtoken:password: has a $ reference that cannot be resolved (write $$ for a literal $)`,
      expect.stringContaining(`${path}:database:connection: must be a mysql:// or mysql+<driver>:// URL`),
    ]);
  });

  it('reports an unresolvable reference once, naming it when the option is not secret', () => {
    const path = write(`[DEFAULT]\nimage_cache_dir = $nowhere/cache\n${minimal}`);
    expect(problemsOf(() => loadConfig(path, {}))).toEqual([
      `${path}:DEFAULT:image_cache_dir: refers to $nowhere, which is not set (write $$ for a literal $)`,
    ]);
  });

  it('expands $option references and $$ as oslo.config does', () => {
    const cfg = loadConfig(
      write(
        `[DEFAULT]\nlog_dir = /srv/glance\nimage_cache_dir = $log_dir/cache\n` +
          `[glance_store]\nfilesystem_store_datadir = \${DEFAULT.log_dir}/images\n` +
          `[keystone_authtoken]\npassword = pa$$word\n${minimal}`,
      ),
      {},
    );
    expect(cfg.DEFAULT.image_cache_dir).toBe('/srv/glance/cache');
    expect(cfg.glance_store.filesystem_store_datadir).toBe('/srv/glance/images');
    expect(cfg.keystone_authtoken.password).toBe('pa$word');
  });

  it('honours deprecated names: [DEFAULT] sql_connection and [keystone_authtoken] auth_uri', () => {
    const cfg = loadConfig(
      write(`[DEFAULT]\nsql_connection = ${CONNECTION}\n[keystone_authtoken]\nauth_uri = http://ks:5000\n`),
      {},
    );
    expect(cfg.database.connection).toBe(CONNECTION);
    expect(cfg.keystone_authtoken.www_authenticate_uri).toBe('http://ks:5000');
  });

  it('requires the Keystone credentials when the flavor uses Keystone', () => {
    const path = write(
      `[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nusername = glance\n${minimal}`,
    );
    expect(problemsOf(() => loadConfig(path, {}))).toEqual([
      `${path}:keystone_authtoken:auth_type: must be password or v3password with [paste_deploy] flavor keystone`,
      `${path}:keystone_authtoken:auth_url: is required with [paste_deploy] flavor keystone`,
      `${path}:keystone_authtoken:password: is required with [paste_deploy] flavor keystone`,
      `${path}:keystone_authtoken:user_domain_name: user_domain_name or user_domain_id is required with username`,
      `${path}:keystone_authtoken:project_name: project_name or project_id is required`,
    ]);
  });

  it('treats an empty flavor and noauth as no authentication', () => {
    expect(loadConfig(write(`[paste_deploy]\nflavor =\n${minimal}`), {}).paste_deploy.flavor).toBeNull();
    expect(
      loadConfig(write(`[paste_deploy]\nflavor = noauth\n${minimal}`), {}).paste_deploy.flavor,
    ).toBeNull();
  });

  it('refuses at start, naming each, the upstream options it does not honour when they are set', () => {
    const path = write(
      '[DEFAULT]\nproperty_protection_file = /etc/glance/property-protections.conf\n' +
        'metadata_encryption_key = 0123456789abcdef\ndelayed_delete = True\nlocation_strategy = store_type\n' +
        '[image_import_opts]\nimage_import_plugins = [image_conversion]\n' +
        '[keystone_authtoken]\ncafile = /etc/ssl/keystone-ca.pem\ninsecure = true\n' +
        minimal,
    );
    const problems = problemsOf(() => loadConfig(path, {}));
    expect(problems.map((p) => p.split(': ')[0])).toEqual([
      `${path}:DEFAULT:property_protection_file`,
      `${path}:DEFAULT:metadata_encryption_key`,
      `${path}:DEFAULT:delayed_delete`,
      `${path}:DEFAULT:location_strategy`,
      `${path}:image_import_opts:image_import_plugins`,
      `${path}:keystone_authtoken:cafile`,
      `${path}:keystone_authtoken:insecure`,
    ]);
    expect(problems[2]).toContain('a deleted image would lose its data at once');
    expect(problems.join('\n')).not.toContain('0123456789abcdef');
    // Their defaults, as upstream's sample writes them, load.
    const defaults = write(
      '[DEFAULT]\nproperty_protection_file =\nmetadata_encryption_key =\ndelayed_delete = false\n' +
        'location_strategy = location_order\n[image_import_opts]\nimage_import_plugins = []\n' +
        '[keystone_authtoken]\ncafile =\ninsecure = false\n' +
        minimal,
    );
    expect(loadConfig(defaults, {}).database.connection).toBe(CONNECTION);
  });

  it('refuses mismatched enforce_secure_rbac and enforce_new_defaults, as glance-api does', () => {
    const path = write(`[DEFAULT]\nenforce_secure_rbac = true\n${minimal}`);
    expect(problemsOf(() => loadConfig(path, {}))).toEqual([
      expect.stringContaining(
        `${path}:DEFAULT:enforce_secure_rbac: does not match [oslo_policy] enforce_new_defaults`,
      ),
    ]);
  });

  it('checks multistore settings: backend types, reserved names, default_backend and per-backend options', () => {
    const path = write(
      `[DEFAULT]\nenabled_backends = a:file, b:floppy, os_glance_tasks_store:file\n` +
        `[a]\nrbd_store_pool = wrong-section\n${minimal}`,
    );
    expect(problemsOf(() => loadConfig(path, {}))).toEqual([
      `${path}:a:rbd_store_pool: unknown option`,
      `${path}:DEFAULT:enabled_backends: store b has unknown type floppy (known: file, http, swift, rbd, cinder, vmware, s3) (got "a:file, b:floppy, os_glance_tasks_store:file")`,
      `${path}:DEFAULT:enabled_backends: store name os_glance_tasks_store is reserved by glance (got "a:file, b:floppy, os_glance_tasks_store:file")`,
      `${path}:glance_store:default_backend: is required when [DEFAULT] enabled_backends is set`,
    ]);
  });

  it('reports an unreadable file clearly', () => {
    expect(problemsOf(() => loadConfig(join(dir, 'missing.conf'), {}))).toEqual([
      `${join(dir, 'missing.conf')}: cannot read the configuration file (ENOENT)`,
    ]);
  });
});
