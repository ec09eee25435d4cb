import { EndpointHttp } from '../net/endpoint-http.js';
import type { UrlPolicy } from '../net/url-policy.js';
import type { OperatorMetrics } from '../runtime/operator-metrics.js';
import { NO_FENCE, type WriteFence } from '../runtime/write-fence.js';
import type { AdminConnectors } from './admin-clients.js';
import { CephCliAdmin } from './ceph-cli.js';
import { KeystoneClient } from './keystone-client.js';
import { MariaDbAdmin } from './mariadb-admin.js';

/**
 * The real MariaDB, Keystone and Ceph clients, each write first let through by the fence, then counted in
 * glance_operator_writes_total; Keystone reached under the URL policy, each connection checked and pinned.
 */
export function liveAdminConnectors(
  metrics: OperatorMetrics,
  policy: UrlPolicy,
  fence: WriteFence = NO_FENCE,
): AdminConnectors {
  const counter = (system: string) => (operation: string) => {
    fence.check();
    metrics.writes.inc({ system, operation });
  };
  return {
    database: (target) => MariaDbAdmin.connect(target, counter('mysql')),
    async keystone(authUrl, admin) {
      const client = new KeystoneClient(authUrl, admin, new EndpointHttp(policy), counter('keystone'));
      await client.authenticate();
      return client;
    },
    ceph: (target) => CephCliAdmin.open({ ...target, onWrite: counter('ceph') }),
  };
}
