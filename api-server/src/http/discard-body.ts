import type { IncomingMessage } from 'node:http';

/** How much of a refused upload is read and dropped before the connection is closed instead. */
export interface DiscardLimits {
  bytes: number;
  ms: number;
}

export const DISCARD_LIMITS: DiscardLimits = { bytes: 4 * 1024 * 1024, ms: 10_000 };

/**
 * After an upload is refused before all of it was read, the client may still be sending. Closing the
 * connection then resets it, and a client that is still writing sees EPIPE or ECONNRESET instead of the
 * answer. So the rest is read and dropped (eventlet does the same for upstream Glance), within `limits`: past
 * them the connection is closed. Returns false when the declared rest is already over the bound, so the answer
 * can say `Connection: close` and nothing is read.
 */
export function discardRest(req: IncomingMessage, limits: DiscardLimits = DISCARD_LIMITS): boolean {
  if (req.complete) return true;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.bytes) return false;
  let seen = 0;
  const stop = (): void => {
    clearTimeout(timer);
    req.off('data', onData);
  };
  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > limits.bytes) {
      stop();
      req.socket.destroy();
    }
  };
  const timer = setTimeout(() => {
    stop();
    req.socket.destroy();
  }, limits.ms);
  timer.unref();
  req.on('data', onData);
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
  return true;
}
