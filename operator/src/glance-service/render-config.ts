import type { GlanceServiceSpec, StoreBackend } from '../api/glance-service-types.js';
import { API_PORT } from './names.js';

/** Where the pods mount what the operator renders. */
export const CONFIG_DIR = '/etc/glance';
export const CONFIG_FILE = 'glance-api.conf';
export const CEPH_DIR = '/etc/ceph';
export const IMAGES_DIR = '/var/lib/glance/images/';

export type IniDocument = Array<[section: string, entries: Array<[key: string, value: string]>]>;

export interface ConfigInputs {
  spec: GlanceServiceSpec;
  databasePassword: string;
  keystonePassword: string;
  /** The transport URL from spec.notifications' Secret, checked (transport-url.ts); unused without notifications. */
  transportUrl?: string;
}

/** oslo.config expands `$name` in values; `$$` is a literal dollar. */
function literal(value: string): string {
  return value.replace(/\$/g, '$$$$');
}

export function defaultStore(spec: GlanceServiceSpec): StoreBackend {
  return spec.store.default ?? (spec.store.backends[0] as StoreBackend);
}

/**
 * glance-api.conf with the sections the API needs, the way the install guide writes them, then
 * spec.extraConfig over them. It holds passwords, so it only ever goes into a Secret.
 */
export function glanceApiConfig(inputs: ConfigInputs): IniDocument {
  const { spec } = inputs;
  const db = spec.database;
  const k = spec.keystone;
  // SQLAlchemy URL-decodes the user and password.
  const connection =
    `mysql+pymysql://${encodeURIComponent(db.user)}:${encodeURIComponent(inputs.databasePassword)}` +
    `@${db.host}:${db.port}/${db.name}`;
  const store: Array<[string, string]> = [
    ['stores', spec.store.backends.join(',')],
    ['default_store', defaultStore(spec)],
  ];
  if (spec.store.backends.includes('file')) store.push(['filesystem_store_datadir', IMAGES_DIR]);
  if (spec.store.backends.includes('rbd') && spec.ceph) {
    store.push(
      ['rbd_store_pool', spec.ceph.pool],
      ['rbd_store_user', spec.ceph.user],
      ['rbd_store_ceph_conf', `${CEPH_DIR}/ceph.conf`],
      ['rbd_store_chunk_size', '8'],
    );
  }
  const notifications = notificationSettings(inputs);
  const doc: IniDocument = [
    ['DEFAULT', [['bind_host', '0.0.0.0'], ['bind_port', String(API_PORT)], ...notifications.defaults]],
    // encodeURIComponent leaves no `$` for oslo.config to expand.
    ['database', [['connection', connection]]],
    [
      'keystone_authtoken',
      [
        ['www_authenticate_uri', k.wwwAuthenticateUri ?? k.authUrl],
        ['auth_url', k.authUrl],
        ['auth_type', 'password'],
        ['project_domain_name', k.serviceDomainName],
        ['user_domain_name', k.serviceDomainName],
        ['project_name', k.projectName],
        ['username', k.userName],
        ['password', literal(inputs.keystonePassword)],
        ['region_name', k.region],
      ],
    ],
    ['paste_deploy', [['flavor', 'keystone']]],
    ['glance_store', store],
    ['oslo_messaging_notifications', notifications.section],
  ];
  return mergeIni(doc, spec.extraConfig);
}

/**
 * The install guide's notification settings, split as the file holds them: [DEFAULT]'s options and the
 * [oslo_messaging_notifications] section. Without notifications, driver noop: the API sends nothing, and the file
 * says so rather than leaving a reader to know that an absent driver means none.
 */
function notificationSettings({ spec, transportUrl }: ConfigInputs): {
  defaults: Array<[string, string]>;
  section: Array<[string, string]>;
} {
  const n = spec.notifications;
  if (!n) return { defaults: [], section: [['driver', 'noop']] };
  if (transportUrl === undefined) throw new Error('notifications need the transport URL');
  // %24 rather than $$: oslo.messaging and our API server both percent-decode the URL, so no reader of the file
  // can take a dollar in a password for an oslo.config reference.
  const defaults: Array<[string, string]> = [['transport_url', transportUrl.replace(/\$/g, '%24')]];
  if (n.disabledNotifications.length > 0) {
    defaults.push(['disabled_notifications', n.disabledNotifications.join(',')]);
  }
  return {
    defaults,
    section: [
      ['driver', n.driver],
      ['topics', n.topics.join(',')],
    ],
  };
}

/** `extra` over `doc`: a known key changes in place, a new key or section is appended. */
export function mergeIni(doc: IniDocument, extra: Record<string, Record<string, string>>): IniDocument {
  const out: IniDocument = doc.map(([s, entries]) => [
    s,
    entries.map(([k, v]) => [k, v] as [string, string]),
  ]);
  for (const [section, values] of Object.entries(extra)) {
    let target = out.find(([s]) => s === section);
    if (!target) {
      target = [section, []];
      out.push(target);
    }
    for (const [key, value] of Object.entries(values)) {
      const entry = target[1].find(([k]) => k === key);
      if (entry) entry[1] = value;
      else target[1].push([key, value]);
    }
  }
  return out;
}

export function renderIni(doc: IniDocument): string {
  return (
    doc
      .map(([section, entries]) => [`[${section}]`, ...entries.map(([k, v]) => `${k} = ${v}`)].join('\n'))
      .join('\n\n') + '\n'
  );
}
