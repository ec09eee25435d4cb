import { Worker } from 'node:worker_threads';

// The bytes go to the thread in batches: one message per MiB costs nothing next to hashing it, where one per
// 64 KiB socket read cost ~15% more CPU per byte (bench/hash).
const BATCH_BYTES = 1024 * 1024;
// Batches one digest may have in flight; with the chunk being copied, an upload holds at most this much here.
const BATCHES_PER_DIGEST = 4;

// Inline (eval) rather than a file beside this module: the same code then runs from dist/ and from the
// TypeScript sources under jest, which cannot load a .ts worker file.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const digests = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'open') {
    digests.set(m.id, createHash(m.algo));
  } else if (m.op === 'data') {
    digests.get(m.id)?.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ op: 'free', id: m.id, buffer: m.buffer }, [m.buffer]);
  } else if (m.op === 'end') {
    const hash = digests.get(m.id);
    digests.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: hash ? hash.digest('hex') : '' });
  } else if (m.op === 'abort') {
    digests.delete(m.id);
  }
});
`;

type Reply = { op: 'free'; id: number; buffer: ArrayBuffer } | { op: 'digest'; id: number; hex: string };

interface Listener {
  free(buffer: ArrayBuffer): void;
  digest(hex: string): void;
  fail(err: Error): void;
}

/**
 * The one hashing thread of this process, started on first use. It keeps the process alive only while a reply is
 * awaited (a batch or a digest): a digest left open by a stream nobody ends must not keep a process from exiting.
 */
class HashThread {
  #worker: Worker | null = null;
  readonly #listeners = new Map<number, Listener>();
  #nextId = 1;
  #awaited = 0;

  open(algo: string, listener: Listener): number {
    const id = this.#nextId++;
    const worker = this.#start();
    this.#listeners.set(id, listener);
    worker.postMessage({ op: 'open', id, algo });
    return id;
  }

  data(id: number, buffer: ArrayBuffer, length: number): void {
    this.#await();
    this.#worker?.postMessage({ op: 'data', id, buffer, length }, [buffer]);
  }

  end(id: number): void {
    this.#await();
    this.#worker?.postMessage({ op: 'end', id });
  }

  #await(): void {
    if (this.#awaited++ === 0) this.#worker?.ref();
  }

  #answered(): void {
    if (--this.#awaited === 0) this.#worker?.unref();
  }

  close(id: number, abort: boolean): void {
    if (!this.#listeners.delete(id)) return;
    if (abort) this.#worker?.postMessage({ op: 'abort', id });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(THREAD_SOURCE, { eval: true, name: 'glance-hash' });
    worker.on('message', (reply: Reply) => {
      this.#answered();
      const listener = this.#listeners.get(reply.id);
      if (reply.op === 'free') listener?.free(reply.buffer);
      else listener?.digest(reply.hex);
    });
    const lost = (err: Error): void => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#awaited = 0;
      const listeners = [...this.#listeners.values()];
      this.#listeners.clear();
      for (const l of listeners) l.fail(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the hashing thread exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the port again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}

let thread: HashThread | null = null;

/**
 * A digest computed on the process's hashing thread while this thread does other work (the other digest,
 * the socket, the store). Bytes are copied into at most BATCHES_PER_DIGEST batches handed over by transfer;
 * `update` waits while all of them are with the thread, which is what keeps memory bounded and makes a slow
 * digest slow the upload down rather than queue its bytes.
 */
export class ThreadedDigest {
  readonly #id: number;
  readonly #free: ArrayBuffer[] = [];
  #allocated = 0;
  #batch: Uint8Array | null = null;
  #filled = 0;
  #waiting: (() => void) | null = null;
  #failure: Error | null = null;
  #onDigest: ((err: Error | null, hex?: string) => void) | null = null;
  #closed = false;

  constructor(nodeAlgo: string) {
    thread ??= new HashThread();
    this.#id = thread.open(nodeAlgo, {
      free: (buffer) => {
        this.#free.push(buffer);
        this.#wake();
      },
      digest: (hex) => {
        this.#closeThread(false);
        this.#onDigest?.(null, hex);
      },
      fail: (err) => {
        this.#failure = err;
        this.#closed = true;
        this.#wake();
        this.#onDigest?.(err);
      },
    });
  }

  /** Copies `chunk` for the thread; `done` runs once all of it is handed over (or with the thread's failure). */
  update(chunk: Uint8Array, done: (err?: Error) => void): void {
    let offset = 0;
    const step = (): void => {
      while (offset < chunk.length) {
        if (this.#failure) {
          done(this.#failure);
          return;
        }
        if (this.#batch === null) {
          const buffer = this.#free.pop() ?? this.#allocate();
          if (buffer === null) {
            this.#waiting = step;
            return;
          }
          this.#batch = new Uint8Array(buffer);
          this.#filled = 0;
        }
        const n = Math.min(chunk.length - offset, BATCH_BYTES - this.#filled);
        this.#batch.set(chunk.subarray(offset, offset + n), this.#filled);
        this.#filled += n;
        offset += n;
        if (this.#filled === BATCH_BYTES) this.#send();
      }
      done(this.#failure ?? undefined);
    };
    step();
  }

  /** The hex digest of everything passed to `update`. */
  digest(callback: (err: Error | null, hex?: string) => void): void {
    if (this.#failure) {
      callback(this.#failure);
      return;
    }
    this.#onDigest = callback;
    if (this.#filled > 0) this.#send();
    thread?.end(this.#id);
  }

  /** Drops the digest (the upload failed); the thread forgets it. */
  abort(): void {
    this.#closeThread(true);
  }

  #allocate(): ArrayBuffer | null {
    if (this.#allocated >= BATCHES_PER_DIGEST) return null;
    this.#allocated++;
    return new ArrayBuffer(BATCH_BYTES);
  }

  #send(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    thread?.data(this.#id, batch.buffer as ArrayBuffer, this.#filled);
    this.#filled = 0;
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.();
  }

  #closeThread(abort: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    thread?.close(this.#id, abort);
  }
}
