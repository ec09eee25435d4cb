import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../../api-server/src/config/index.js';
import {
  parseGlanceServiceSpec,
  type GlanceServiceSpec,
} from '../../../../operator/src/api/glance-service-types.js';
import { generatePassword } from '../../../../operator/src/glance-service/credentials.js';
import { glanceApiConfig, renderIni } from '../../../../operator/src/glance-service/render-config.js';

function spec(extra: object = {}): GlanceServiceSpec {
  const parsed = parseGlanceServiceSpec({
    image: 'glance-api:1',
    database: { host: 'mariadb.db.svc', adminSecretRef: { name: 'a' } },
    keystone: {
      authUrl: 'http://keystone.id.svc:5000/v3',
      region: 'RegionTwo',
      adminSecretRef: { name: 'b' },
    },
    ...extra,
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.spec;
}

const render = (s: GlanceServiceSpec, db = 'dbpass', ks = 'kspass') =>
  renderIni(glanceApiConfig({ spec: s, databasePassword: db, keystonePassword: ks }));

describe('glance-api.conf rendering', () => {
  it("writes the install guide's sections for a file store", () => {
    expect(render(spec())).toBe(
      [
        '[DEFAULT]',
        'bind_host = 0.0.0.0',
        'bind_port = 9292',
        '',
        '[database]',
        'connection = mysql+pymysql://glance:dbpass@mariadb.db.svc:3306/glance',
        '',
        '[keystone_authtoken]',
        'www_authenticate_uri = http://keystone.id.svc:5000/v3',
        'auth_url = http://keystone.id.svc:5000/v3',
        'auth_type = password',
        'project_domain_name = Default',
        'user_domain_name = Default',
        'project_name = service',
        'username = glance',
        'password = kspass',
        'region_name = RegionTwo',
        '',
        '[paste_deploy]',
        'flavor = keystone',
        '',
        '[glance_store]',
        'stores = file',
        'default_store = file',
        'filesystem_store_datadir = /var/lib/glance/images/',
        '',
      ].join('\n'),
    );
  });

  it('adds the rbd options for a Ceph store, and lets extraConfig override and extend', () => {
    const text = render(
      spec({
        ceph: { monHost: '10.0.0.1:6789', adminSecretRef: { name: 'c' }, pool: 'imgs', user: 'gl' },
        store: { backends: ['rbd', 'file'] },
        extraConfig: {
          DEFAULT: { bind_port: '9393', debug: 'true' },
          oslo_policy: { enforce_new_defaults: 'true' },
        },
      }),
    );
    expect(text).toContain(
      '[glance_store]\nstores = rbd,file\ndefault_store = rbd\nfilesystem_store_datadir = /var/lib/glance/images/\n' +
        'rbd_store_pool = imgs\nrbd_store_user = gl\nrbd_store_ceph_conf = /etc/ceph/ceph.conf\nrbd_store_chunk_size = 8\n',
    );
    expect(text).toContain('[DEFAULT]\nbind_host = 0.0.0.0\nbind_port = 9393\ndebug = true\n');
    expect(text.endsWith('[oslo_policy]\nenforce_new_defaults = true\n')).toBe(true);
  });

  it('keeps passwords with URL and oslo.config metacharacters intact', () => {
    const text = render(spec(), 'p@ss:w/rd$1', 'key$tone');
    expect(text).toContain(
      'connection = mysql+pymysql://glance:p%40ss%3Aw%2Frd%241@mariadb.db.svc:3306/glance',
    );
    expect(text).toContain('password = key$$tone');
  });

  describe('is loaded by our API server as rendered', () => {
    let dir: string;
    beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'render-config-'))));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('with the passwords, the Keystone settings and the store', () => {
      const file = path.join(dir, 'glance-api.conf');
      writeFileSync(file, render(spec(), 'p@ss:w/rd$1', 'key$tone'));
      const cfg = loadConfig(file, {});
      expect(cfg.database.connection).toBe(
        'mysql+pymysql://glance:p%40ss%3Aw%2Frd%241@mariadb.db.svc:3306/glance',
      );
      expect(cfg.keystone_authtoken).toMatchObject({
        password: 'key$tone',
        username: 'glance',
        project_name: 'service',
        auth_url: 'http://keystone.id.svc:5000/v3',
      });
      expect(cfg.paste_deploy.flavor).toBe('keystone');
      expect(cfg.glance_store).toMatchObject({
        default_store: 'file',
        filesystem_store_datadir: '/var/lib/glance/images/',
      });
    });
  });
});

describe('generated passwords', () => {
  it('are 32 URL- and INI-safe characters, different each time', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(generatePassword()).not.toBe(a);
  });
});
