import { loadConfig } from '../../../../api-server/src/config/load.js';
import { stackValue } from '../../../harness/stack-env.js';

// The glance-api.conf the stack's upstream glance-api runs with must load into our server unchanged.
describe("the stack's upstream glance-api.conf", () => {
  test('loads unchanged, with the values upstream runs with', () => {
    const cfg = loadConfig(stackValue('UPSTREAM_GLANCE_CONF'), {});
    expect(cfg.database.connection).toBe(stackValue('GLANCE_DB_URL'));
    expect(cfg.paste_deploy.flavor).toBe('keystone');
    expect(cfg.keystone_authtoken).toMatchObject({
      username: stackValue('GLANCE_SERVICE_USER'),
      password: stackValue('GLANCE_SERVICE_PASSWORD'),
      project_name: 'service',
      auth_type: 'password',
    });
    expect(cfg.keystone_authtoken.auth_url).toBe(new URL(stackValue('OS_AUTH_URL')).origin);
    expect(cfg.glance_store.filesystem_store_datadir.replace(/\/$/, '')).toBe(
      stackValue('UPSTREAM_GLANCE_DATADIR').replace(/\/$/, ''),
    );
  });
});
