import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../../api-server/src/config/errors.js';
import { loadConfig } from '../../../../api-server/src/config/load.js';

// [DEFAULT] use_keystone_limits and the [oslo_limit] credentials it needs.

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'glance-oslo-limit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (text: string) => {
  const path = join(dir, `glance-api-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, `[database]\nconnection = mysql+pymysql://glance:pw@127.0.0.1/glance\n${text}`);
  return loadConfig(path, {});
};

const complete =
  '[oslo_limit]\nendpoint_id = ep-1\nauth_url = http://127.0.0.1:5000\nauth_type = password\n' +
  'username = glance\nuser_domain_name = Default\npassword = limit-secret\nsystem_scope = all\n' +
  'region_name = RegionOne\ninterface = public\n';

test('off by default, and an [oslo_limit] section alone turns nothing on', () => {
  expect(load('').DEFAULT.use_keystone_limits).toBe(false);
  expect(load(complete).DEFAULT.use_keystone_limits).toBe(false);
});

test('use_keystone_limits with complete credentials loads them', () => {
  const cfg = load(`[DEFAULT]\nuse_keystone_limits = True\n${complete}`);
  expect(cfg.DEFAULT.use_keystone_limits).toBe(true);
  expect(cfg.oslo_limit).toMatchObject({ endpoint_id: 'ep-1', username: 'glance', system_scope: 'all' });
});

test('use_keystone_limits without what oslo.limit needs lists every gap, never the password', () => {
  let problems: readonly string[] = [];
  try {
    load(
      '[DEFAULT]\nuse_keystone_limits = True\n[oslo_limit]\npassword = limit-secret\nsystem_scope = some\n',
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems;
  }
  const text = problems.join('\n');
  for (const key of ['endpoint_id', 'auth_type', 'auth_url', 'username', 'system_scope']) {
    expect(text).toContain(`oslo_limit:${key}:`);
  }
  expect(text).not.toContain('limit-secret');
});

test('an unknown [oslo_limit] option is reported', () => {
  expect(() => load('[oslo_limit]\nendpoint = x\n')).toThrow(ConfigError);
});
