import { connect, createServer, type Server, type Socket } from 'node:net';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface Backend {
  namespace: string;
  labels: Record<string, string>;
  port: number;
  ready: boolean;
}

const SERVICE_CACHE_MS = 2000;

/**
 * kube-proxy's part for one Service: a loopback port whose connections go to a ready local pod matching the
 * Service's selector, round robin. A stable port is what lets Keystone's catalog point at the Service while
 * its pods come and go (a rollout starts the new pod before it stops the old one).
 */
export class ServiceProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private selector: { at: number; labels: Record<string, string> | undefined } | undefined;
  private next = 0;

  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
    private readonly name: string,
    readonly port: number,
    private readonly backends: () => Backend[],
    private readonly log: Logger,
  ) {
    this.server = createServer((client) => void this.forward(client));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.log.info(
      { service: `${this.namespace}/${this.name}`, port: this.port },
      'serving the Service locally',
    );
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serviceSelector(): Promise<Record<string, string> | undefined> {
    if (this.selector && Date.now() - this.selector.at < SERVICE_CACHE_MS) return this.selector.labels;
    const svc = await this.core
      .readNamespacedService({ namespace: this.namespace, name: this.name })
      .catch(() => undefined);
    this.selector = { at: Date.now(), labels: svc?.spec?.selector };
    return this.selector.labels;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private async forward(client: Socket): Promise<void> {
    this.track(client);
    client.on('error', () => client.destroy());
    const selector = await this.serviceSelector();
    const ready = selector
      ? this.backends().filter(
          (b) =>
            b.ready &&
            b.namespace === this.namespace &&
            Object.entries(selector).every(([k, v]) => b.labels[k] === v),
        )
      : [];
    // No endpoint: the connection is refused, as it would be for a Service without ready pods.
    const backend = ready[this.next++ % Math.max(ready.length, 1)];
    if (!backend) {
      client.destroy();
      return;
    }
    const upstream = connect(backend.port, '127.0.0.1');
    this.track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
