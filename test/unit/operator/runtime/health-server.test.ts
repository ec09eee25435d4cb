import type { Server } from 'node:http';
import { boundPort, startHealthServer } from '../../../../operator/src/runtime/health-server.js';
import { Counter, Registry } from '../../../../operator/src/runtime/metrics.js';

describe('health and metrics endpoints', () => {
  let server: Server;
  let ready = false;
  let base: string;
  const registry = new Registry();
  registry.register(new Counter('glance_operator_test_total', 'A test counter.')).inc({ a: 'b' });

  beforeAll(async () => {
    server = await startHealthServer(0, '127.0.0.1', { live: () => true, ready: () => ready }, registry);
    base = `http://127.0.0.1:${boundPort(server)}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('answers /healthz while alive and /readyz only once ready', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('serves the metrics in the Prometheus text format', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toContain('glance_operator_test_total{a="b"} 1');
  });

  it('refuses other paths and methods', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
