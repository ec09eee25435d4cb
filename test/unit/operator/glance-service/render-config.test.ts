import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, parseIni } from '../../../../api-server/src/config/index.js';
import { notifySettings } from '../../../../api-server/src/notify/index.js';
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

const render = (s: GlanceServiceSpec, db = 'dbpass', ks = 'kspass', transportUrl?: string) =>
  renderIni(glanceApiConfig({ spec: s, databasePassword: db, keystonePassword: ks, transportUrl }));

const TRANSPORT =
  'rabbit://openstack:Rabbit-Pa$$@mq-0.mq.svc:5672,openstack:Rabbit-Pa$$@mq-1.mq.svc:5672/glance';
const notifying = (extra: object = {}) =>
  spec({ notifications: { transportUrlSecretRef: { name: 'mq' }, ...extra } });

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
        '[oslo_messaging_notifications]',
        'driver = noop',
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

  it("writes the install guide's notification settings when the spec names a transport", () => {
    const text = render(
      notifying({ topics: ['notifications', 'audit.glance'], disabledNotifications: ['image.send', 'task'] }),
      'dbpass',
      'kspass',
      TRANSPORT,
    );
    // A dollar in the URL is percent-encoded, so that oslo.config cannot read it as a reference.
    expect(text).toContain(
      '[DEFAULT]\nbind_host = 0.0.0.0\nbind_port = 9292\n' +
        'transport_url = rabbit://openstack:Rabbit-Pa%24%24@mq-0.mq.svc:5672,' +
        'openstack:Rabbit-Pa%24%24@mq-1.mq.svc:5672/glance\n' +
        'disabled_notifications = image.send,task\n\n',
    );
    expect(
      text.endsWith(
        '[oslo_messaging_notifications]\ndriver = messagingv2\ntopics = notifications,audit.glance\n',
      ),
    ).toBe(true);
  });

  it('leaves disabled_notifications out when nothing is disabled, and writes the driver asked for', () => {
    const text = render(notifying({ driver: 'messaging' }), 'dbpass', 'kspass', 'rabbit://u:p@mq:5672/');
    expect(text).toContain(
      '[DEFAULT]\nbind_host = 0.0.0.0\nbind_port = 9292\ntransport_url = rabbit://u:p@mq:5672/\n\n',
    );
    expect(text).not.toContain('disabled_notifications');
    expect(text).toContain('[oslo_messaging_notifications]\ndriver = messaging\ntopics = notifications\n');
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
      expect(notifySettings(parseIni(render(spec()))).drivers).toEqual(['noop']);
    });

    it('with the notification transport, topics and disabled events', () => {
      const text = render(
        notifying({
          topics: ['notifications', 'audit.glance'],
          disabledNotifications: ['image.send', 'task'],
        }),
        'dbpass',
        'kspass',
        TRANSPORT,
      );
      const file = path.join(dir, 'notifying.conf');
      writeFileSync(file, text);
      expect(() => loadConfig(file, {})).not.toThrow();
      const settings = notifySettings(parseIni(text, file));
      expect(settings).toMatchObject({
        drivers: ['messagingv2'],
        topics: ['notifications', 'audit.glance'],
        exchange: 'glance',
        disabled: ['image.send', 'task'],
        transport: {
          vhost: 'glance',
          hosts: [
            { hostname: 'mq-0.mq.svc', port: 5672, username: 'openstack', password: 'Rabbit-Pa$$' },
            { hostname: 'mq-1.mq.svc', port: 5672, username: 'openstack', password: 'Rabbit-Pa$$' },
          ],
        },
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
