import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ProxiedService {
  /** http://127.0.0.1:<port>: the Service, reached from this machine. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A loopback port in front of a cluster Service, through the kube-apiserver's service proxy
 * (`/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/...`). Unlike `kubectl port-forward`, which sticks to
 * one pod, it follows the Service's endpoints through rollouts. For clusters whose Services this machine cannot
 * reach otherwise (kind).
 */
export async function proxyService(
  kc: KubeConfig,
  target: { namespace: string; name: string; port: string },
  listenPort = 0,
): Promise<ProxiedService> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const base = new URL(
    `${cluster.server.replace(/\/$/, '')}/api/v1/namespaces/${target.namespace}/services/` +
      `${target.name}:${target.port}/proxy`,
  );
  const server: Server = createServer((req, res) => {
    void (async () => {
      const options: Parameters<typeof request>[1] = {
        method: req.method,
        headers: { ...req.headers, host: base.host },
      };
      // The client certificate or token of the kubeconfig; the Glance token travels as X-Auth-Token.
      await kc.applyToHTTPSOptions(options);
      const upstream = request(`${base.href}${req.url ?? '/'}`, options, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
