import type { Logger } from 'pino';
import { BoundedQueue } from './bounded-queue.js';
import type { BrokerLink, Connector, LinkOptions, OutgoingMessage } from './broker-link.js';
import { describeHost, redactSecrets, type BrokerHost, type TransportTarget } from './transport-url.js';

// The background sender: requests put messages in a bounded buffer and return; one loop drains it to the broker
// over a publisher-confirm channel, reconnecting with capped exponential backoff through the configured hosts in
// turn. A message leaves the buffer only once the broker confirmed it, so what was buffered while the broker was
// away is sent when it returns (a failure mid-batch may repeat a message, never lose one that was confirmed).

export interface SenderOptions {
  exchange: string;
  transport: TransportTarget;
  link: Omit<LinkOptions, 'vhost'>;
  /** Messages held while the broker is away; beyond it the oldest are dropped and counted. */
  capacity: number;
  /** Messages per publish-and-confirm round. */
  batchSize: number;
  /** First and longest wait between connection attempts. */
  backoffMs: { initial: number; max: number };
  /** -1: keep a message until the broker takes it; N: drop it after N failed retries (oslo's retry option). */
  retry: number;
  failover: 'round-robin' | 'shuffle';
  connector: Connector;
  logger: Logger;
}

export interface SenderStats {
  buffered: number;
  capacity: number;
  dropped: number;
  sent: number;
  connected: boolean;
}

interface Entry extends OutgoingMessage {
  /** The failure count when the message was queued, for the retry limit. */
  failuresAtQueue: number;
}

export class Sender {
  private readonly queue: BoundedQueue<Entry>;
  private readonly hosts: BrokerHost[];
  private nextHost = 0;
  private link: BrokerLink | undefined;
  private failures = 0;
  private consecutiveFailures = 0;
  private sent = 0;
  private closing = false;
  /** Set when close's flush time ran out: the loop ends at its next step. */
  private stopNow = false;
  /** Wakes the loop waiting for messages (enqueue and close). */
  private wake: (() => void) | undefined;
  /** Cuts a backoff wait short: only close does, so a stream of requests cannot turn the backoff into a storm. */
  private wakeBackoff: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private outage: { since: number; attempts: number; lastError: string } | undefined;

  constructor(private readonly options: SenderOptions) {
    const log = options.logger;
    this.queue = new BoundedQueue<Entry>(options.capacity, {
      onDropStart: (capacity) =>
        log.warn(
          { capacity },
          'notification buffer full: dropping the oldest notifications until the broker takes them again',
        ),
      onDropEnd: (n) =>
        log.warn(
          { dropped: n, droppedTotal: this.queue.dropped },
          `notification buffer drained; ${n} notifications were dropped while it was full`,
        ),
    });
    this.hosts = [...options.transport.hosts];
    if (options.failover === 'shuffle') this.hosts.sort(() => Math.random() - 0.5);
    this.loop = this.run().catch((error: unknown) => {
      // The loop catches everything it expects; anything else is a bug, logged rather than crashing requests.
      log.error({ err: this.redact(error) }, 'notification sender stopped');
    });
  }

  /** Synchronous and bounded: never waits for the broker. */
  enqueue(messages: readonly OutgoingMessage[]): void {
    if (this.closing) return;
    for (const m of messages) this.queue.push({ ...m, failuresAtQueue: this.failures });
    this.signal();
  }

  stats(): SenderStats {
    return {
      buffered: this.queue.size,
      capacity: this.queue.capacity,
      dropped: this.queue.dropped,
      sent: this.sent,
      connected: this.link !== undefined,
    };
  }

  /**
   * Stops accepting messages and tries to send what is buffered for at most `timeoutMs`; what is left is
   * dropped and logged with its count.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.signal();
    this.wakeBackoff?.();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const outcome = await Promise.race([this.loop.then(() => 'done' as const), expired]);
    clearTimeout(timer);
    const left = this.queue.size;
    this.stopNow = true;
    this.signal();
    this.wakeBackoff?.();
    if (outcome === 'timeout' || left > 0)
      this.options.logger.warn({ undelivered: left }, 'notifier closed with notifications not delivered');
    await this.link?.close();
    this.link = undefined;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeBackoff = undefined;
        resolve();
      }, ms);
      this.wakeBackoff = () => {
        this.wakeBackoff = undefined;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private waitForWork(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private redact(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return redactSecrets(text, this.options.transport);
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.stopNow) return;
      if (this.queue.size === 0) {
        if (this.closing) return;
        await this.waitForWork();
        continue;
      }
      if (!this.link) {
        const ok = await this.connect();
        if (this.stopNow) {
          // close() gave up while we were connecting: the late connection must not outlive the notifier.
          // (connect() may have set this.link, which the compiler cannot see.)
          const late = this.link as BrokerLink | undefined;
          this.link = undefined;
          await late?.close();
          return;
        }
        if (!ok) {
          await this.backoff();
          continue;
        }
      }
      // The link may have closed since it was opened (its closed handler cleared it): connect again.
      const link = this.link as BrokerLink | undefined;
      if (!link) continue;
      const batch = this.queue.take(this.options.batchSize);
      try {
        await link.publish(this.options.exchange, batch);
        this.sent += batch.length;
      } catch (error) {
        // Not confirmed: back at the front, in order, and a fresh connection for the next round. A message the
        // broker took but whose confirm was lost is sent again (at least once, where oslo is at most once).
        this.queue.unshiftAll(batch);
        if (this.link === link) {
          this.link = undefined;
          this.fail(error);
        }
        await link.close();
        await this.backoff();
      }
    }
  }

  private async connect(): Promise<boolean> {
    const host = this.hosts[this.nextHost % this.hosts.length]!;
    try {
      const link = await this.options.connector(host, {
        ...this.options.link,
        vhost: this.options.transport.vhost,
      });
      this.link = link;
      void link.closed.then((error) => {
        if (this.link !== link) return;
        this.link = undefined;
        this.fail(error ?? new Error('connection closed'));
      });
      if (this.outage) {
        this.options.logger.info(
          {
            broker: describeHost(host),
            attempts: this.outage.attempts,
            downMs: Date.now() - this.outage.since,
          },
          'notification broker reachable again; sending buffered notifications',
        );
        this.outage = undefined;
      }
      this.consecutiveFailures = 0;
      return true;
    } catch (error) {
      this.fail(error, host);
      // Round-robin failover: the next attempt goes to the next host.
      this.nextHost = (this.nextHost + 1) % this.hosts.length;
      return false;
    }
  }

  /** Counts a failed attempt, logs the start of an outage once, and applies the retry limit. */
  private fail(error: unknown, host?: BrokerHost): void {
    this.failures++;
    this.consecutiveFailures++;
    const message = this.redact(error);
    if (!this.outage) {
      this.outage = { since: Date.now(), attempts: 0, lastError: message };
      this.options.logger.warn(
        { broker: host ? describeHost(host) : undefined, err: message, buffered: this.queue.size },
        'notification broker unavailable; buffering notifications and retrying',
      );
    }
    this.outage.attempts++;
    this.outage.lastError = message;
    const retry = this.options.retry;
    if (retry >= 0) this.queue.dropWhile((entry) => this.failures - entry.failuresAtQueue > retry);
  }

  private async backoff(): Promise<void> {
    if (this.stopNow) return;
    const { initial, max } = this.options.backoffMs;
    const exponent = Math.min(this.consecutiveFailures - 1, 30);
    const wait = Math.min(max, initial * 2 ** Math.max(exponent, 0));
    await this.sleep(wait);
  }
}
