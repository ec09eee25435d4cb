import net from 'node:net';
import { stackValue } from '../../../harness/stack-env.js';

/** A TCP relay to the stack's RabbitMQ that the test can take away and bring back, without touching the broker. */
export class Relay {
  private server: net.Server | undefined;
  private sockets = new Set<net.Socket>();
  port = 0;

  /**
   * Forwards to the broker; with `hang`, accepts connections and never answers, as a broker that is up but stuck
   * (the slowest failure: a client waits for its own timeout).
   */
  async start({ hang = false } = {}): Promise<void> {
    const target = new URL(stackValue('TRANSPORT_URL'));
    this.server = net.createServer((client) => {
      if (hang) {
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => undefined);
        return;
      }
      const upstream = net.connect(Number(target.port || 5672), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** The broker "goes away": connections cut, new ones refused. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

export function transportUrlVia(port: number): string {
  const url = new URL(stackValue('TRANSPORT_URL'));
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}
