import http from 'node:http';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  /** Concurrent clients, each with its own keep-alive connection. */
  clients: number;
  durationMs: number;
  /** The run also stops after this many requests, so a fast server cannot make it unbounded. */
  maxRequests: number;
  timeoutMs: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  errors: number;
  firstError: string | null;
}

function getOnce(url: string, options: http.RequestOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.get(url, options, (res) => {
      res.on('error', reject);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.resume();
    });
    req.on('error', reject);
  });
}

/**
 * Closed-loop load: each client sends its next request as soon as the previous answer has arrived, until the
 * time or the request budget runs out. Loopback only; the caller passes a local server's URL.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.clients });
  const latenciesMs: number[] = [];
  let issued = 0;
  let errors = 0;
  let firstError: string | null = null;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const client = async (): Promise<void> => {
    while (issued < opts.maxRequests && performance.now() < deadline) {
      issued++;
      const sent = performance.now();
      try {
        const status = await getOnce(opts.url, {
          agent,
          headers: opts.headers,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        if (status !== 200) throw new Error(`HTTP ${status}`);
        latenciesMs.push(performance.now() - sent);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.clients }, client));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - start) / 1000;
  return { requests: latenciesMs.length, seconds, latenciesMs, errors, firstError };
}
