/**
 * How fast image bytes get through createHasher() compared with hashing the same bytes with plain crypto, and
 * whether moving sha512 to a worker_thread (so md5 and sha512 use both cores) would pay for its copies.
 *
 *   npx tsc --outDir /tmp/bench-hash --rootDir . --module nodenext --target es2022 --strict --skipLibCheck \
 *     --types node bench/hash/hash-throughput.ts && echo '{"type":"module"}' > /tmp/bench-hash/package.json &&
 *   node /tmp/bench-hash/bench/hash/hash-throughput.js [MiB=1024] [rounds=3]
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { createFormatInspector } from '../../api-server/src/format/inspector.js';
import { createHasher } from '../../api-server/src/store/hashing.js';
import { limitSize } from '../../api-server/src/store/limit.js';

const CHUNK = 64 * 1024; // what an HTTP request body arrives in
const MIB = Number(process.argv[2] ?? 1024);
const ROUNDS = Number(process.argv[3] ?? 3);
const CHUNKS = (MIB * 1024 * 1024) / CHUNK;
const pool = Array.from({ length: 16 }, () => randomBytes(CHUNK));

function* chunks(): Generator<Buffer> {
  for (let i = 0; i < CHUNKS; i++) yield pool[i % pool.length]!;
}

const discard = (): Writable => new Writable({ write: (_chunk, _encoding, callback) => callback() });

// One chunk per event-loop turn, as a socket delivers a request body, so a stalled loop shows up in the numbers.
function network(): Readable {
  const source = chunks();
  return new Readable({
    read(): void {
      setImmediate(() => {
        const next = source.next();
        this.push(next.done ? null : next.value);
      });
    },
  });
}

async function throughStream(stream: NodeJS.ReadWriteStream): Promise<void> {
  await pipeline(network(), stream, discard());
}

// Everything the api-server does to upload bytes before the store writes them.
async function uploadPath(): Promise<void> {
  await pipeline(
    network(),
    limitSize(2 ** 40),
    createHasher('sha512'),
    createFormatInspector('qcow2'),
    discard(),
  );
}

// The alternative under test: md5 here, sha512 on another core. Chunks are copied into 1 MiB transferable
// batches (the originals still go on to the store, and one message per chunk costs more than it saves);
// in-flight bytes are bounded so memory stays flat.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let hash = createHash('sha512');
parentPort.on('message', (msg) => {
  if (msg === null) {
    parentPort.postMessage({ digest: hash.digest('hex') });
    hash = createHash('sha512');
  } else { hash.update(msg); parentPort.postMessage({ done: msg.byteLength }); }
});`;
const MAX_IN_FLIGHT = 8 * 1024 * 1024;
const BATCH = 1024 * 1024;

function workerHasher(worker: Worker): Transform {
  const md5 = createHash('md5');
  let inFlight = 0;
  let blocked: (() => void) | null = null;
  let finished: (() => void) | null = null;
  const onMessage = (msg: { done?: number; digest?: string }): void => {
    if (msg.digest !== undefined) {
      worker.off('message', onMessage);
      finished?.();
    }
    inFlight -= msg.done ?? 0;
    if (blocked && inFlight < MAX_IN_FLIGHT) {
      const resume = blocked;
      blocked = null;
      resume();
    }
  };
  worker.on('message', onMessage);
  let batch = Buffer.allocUnsafeSlow(BATCH);
  let filled = 0;
  const send = (): void => {
    worker.postMessage(batch.subarray(0, filled), [batch.buffer]);
    inFlight += filled;
    batch = Buffer.allocUnsafeSlow(BATCH);
    filled = 0;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      md5.update(chunk);
      for (let offset = 0; offset < chunk.length;) {
        const copied = chunk.copy(batch, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === BATCH) send();
      }
      if (inFlight < MAX_IN_FLIGHT) callback(null, chunk);
      else blocked = () => callback(null, chunk);
    },
    flush(callback: TransformCallback): void {
      if (filled > 0) send();
      finished = () => {
        md5.digest('hex');
        callback();
      };
      worker.postMessage(null);
    },
  });
}

interface Sample {
  mibPerSecond: number;
  cpuSecondsPerGiB: number;
  stallMs: number;
}

async function sample(run: () => Promise<void> | void): Promise<Sample> {
  // The longest gap between 1 ms timer ticks: how long another request could have waited for this thread.
  let stallMs = 0;
  let lastTick = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - lastTick);
    lastTick = now;
  }, 1);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await run();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  stallMs = Math.max(stallMs, performance.now() - lastTick);
  clearInterval(ticker);
  // cpuUsage covers every thread of the process, so the worker's share is counted too.
  return {
    mibPerSecond: MIB / seconds,
    cpuSecondsPerGiB: ((cpu.user + cpu.system) / 1e6) * (1024 / MIB),
    stallMs,
  };
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function plain(...algorithms: string[]): () => void {
  return () => {
    const hashes = algorithms.map((a) => createHash(a));
    for (const chunk of chunks()) for (const h of hashes) h.update(chunk);
    for (const h of hashes) h.digest('hex');
  };
}

const worker = new Worker(WORKER_SOURCE, { eval: true });
const variants: [string, () => Promise<void> | void][] = [
  ['plain md5', plain('md5')],
  ['plain sha512', plain('sha512')],
  ['plain md5+sha512 (baseline)', plain('md5', 'sha512')],
  ['pass-through stream, no hashing', () => throughStream(new PassThrough())],
  ['createHasher() stream', () => throughStream(createHasher('sha512'))],
  ['upload path: limit+hash+inspect', () => uploadPath()],
  ['stream, sha512 in a worker_thread', () => throughStream(workerHasher(worker))],
];
// Rounds interleave the variants so load from other processes hits them alike; ratios are taken per round.
const samples = new Map<string, Sample[]>(variants.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of variants) samples.get(name)!.push(await sample(run));
}
await worker.terminate();

const baseline = samples.get('plain md5+sha512 (baseline)')!;
console.log(`${MIB} MiB in ${CHUNK / 1024} KiB chunks, median of ${ROUNDS} interleaved rounds:`);
for (const [name, runs] of samples) {
  const ratio = median(runs.map((r, i) => r.mibPerSecond / baseline[i]!.mibPerSecond));
  console.log(
    `${name.padEnd(34)} ${median(runs.map((r) => r.mibPerSecond))
      .toFixed(0)
      .padStart(6)} MiB/s ` +
      `${(100 * ratio).toFixed(0).padStart(5)}% of baseline  ` +
      `cpu ${median(runs.map((r) => r.cpuSecondsPerGiB)).toFixed(2)} s/GiB  ` +
      `longest event-loop stall ${Math.max(...runs.map((r) => r.stallMs)).toFixed(0)} ms`,
  );
}
