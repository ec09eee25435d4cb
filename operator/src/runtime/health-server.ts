import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_CONTENT_TYPE, type Registry } from './metrics.js';

export interface HealthChecks {
  /** The process works: its event loop answers. */
  live(): boolean;
  /** The process can do its job: informers synced (or waiting, healthy, for leadership). */
  ready(): boolean;
}

/** /healthz, /readyz and /metrics on one port, for the kubelet's probes and Prometheus. */
export function startHealthServer(
  port: number,
  host: string,
  checks: HealthChecks,
  registry: Registry,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const probe = (ok: boolean) =>
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    switch (path) {
      case '/healthz':
        probe(checks.live());
        return;
      case '/readyz':
        probe(checks.ready());
        return;
      case '/metrics':
        res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE }).end(registry.render());
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
