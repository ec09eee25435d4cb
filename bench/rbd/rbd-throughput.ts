/**
 * Upload and download of the same file through RbdStore and through `rbd import` / `rbd export`, on the local
 * stack's Ceph, as the same cephx user and with the same object size (rbd_store_chunk_size = 8 MiB). Prints, per
 * way, the median wall time and CPU time (all threads of the process, librbd's included), the throughput ratio
 * against the CLI (CLI time / RbdStore time; target: 0.9 or better), how late RbdStore's event loop ran, and its
 * peak RSS.
 *
 *   npm run build:native &&
 *   npx tsc --outDir dist/bench-rbd --rootDir . --module nodenext --target es2022 --strict --skipLibCheck \
 *     --types node bench/rbd/rbd-throughput.ts &&
 *   node dist/bench-rbd/bench/rbd/rbd-throughput.js [MiB=1024] [rounds=5] [depths=4] [pieceKiB=1024]
 *
 * `depths` is a comma-separated list of RbdStore pipeline depths (writes and reads in flight) to compare.
 * RbdStore reads the file in `pieceKiB` pieces (64 is what an HTTP request body arrives in). Uploads are timed
 * without a declared size (resize-on-write: what a chunked upload gets) and with one (as with Content-Length).
 * The output has to stay inside the checkout (dist/ is ignored): the store finds the addon above its own module.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import { RbdStore, type RbdStoreOptions } from '../../api-server/src/store/rbd-store.js';
import { stackValue } from '../../test/harness/stack-env.js';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.argv[2] ?? 1024);
const ROUNDS = Number(process.argv[3] ?? 5);
const DEPTHS = (process.argv[4] ?? '4').split(',').map(Number);
const PIECE = Number(process.argv[5] ?? 1024) * 1024;
const WORKDIR = '/var/tmp/glance-rbd-bench';
const FILE = `${WORKDIR}/random-${SIZE_MIB}MiB.bin`;
const POOL = 'images';
const USER = 'glance';
const OPTIONS: RbdStoreOptions = {
  rbd_store_pool: POOL,
  rbd_store_user: USER,
  rbd_store_ceph_conf: stackValue('CEPH_CONF'),
  rbd_store_chunk_size: 8,
  rbd_thin_provisioning: false,
};
// The Ceph CLIs must run on Debian's python3, which a pyenv shim may shadow.
const CLI_ENV = { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}` };

interface Run {
  s: number;
  cpu: number;
}

async function makeFile(): Promise<void> {
  if (existsSync(FILE)) return;
  await mkdir(WORKDIR, { recursive: true });
  const partial = `${FILE}.partial`;
  const out = await open(partial, 'w');
  for (let i = 0; i < SIZE_MIB; i++) await out.write(randomBytes(MIB));
  await out.close();
  await rename(partial, FILE);
}

async function sha256(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Runs the rbd CLI as client.glance under /usr/bin/time; stdout (where `rbd export ... -` writes) is /dev/null. */
async function rbdCli(args: string[]): Promise<Run> {
  const devNull = await open('/dev/null', 'w');
  const times = `${WORKDIR}/time-${process.pid}`;
  const start = process.hrtime.bigint();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', times, 'rbd', '--id', USER, ...args], {
        env: CLI_ENV,
        stdio: ['ignore', devNull.fd, 'pipe'],
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`rbd ${args.join(' ')}: ${code}: ${stderr}`)),
      );
    });
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    const [user, system] = (await readFile(times, 'utf8')).trim().split(' ').map(Number);
    return { s, cpu: (user ?? NaN) + (system ?? NaN) };
  } finally {
    await devNull.close();
    await rm(times, { force: true });
  }
}

const worst = { loopP99: 0, loopMax: 0, busy: 0, rss: 0 };

/** Times RbdStore work, keeping the worst event-loop delay and RSS seen during any RbdStore transfer. */
async function ours(work: () => Promise<unknown>): Promise<Run> {
  const sampler = setInterval(() => (worst.rss = Math.max(worst.rss, process.memoryUsage.rss())), 50);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  try {
    await work();
    const used = process.cpuUsage(cpu);
    return { s: Number(process.hrtime.bigint() - start) / 1e9, cpu: (used.user + used.system) / 1e6 };
  } finally {
    loop.disable();
    clearInterval(sampler);
    worst.loopP99 = Math.max(worst.loopP99, loop.percentile(99));
    worst.loopMax = Math.max(worst.loopMax, loop.max);
    worst.busy = Math.max(worst.busy, performance.eventLoopUtilization(elu).utilization);
  }
}

/** Removes an image, then lets the OSD finish freeing its objects before the next timed transfer. */
async function removed(remove: () => Promise<unknown>): Promise<void> {
  await remove();
  await sleep(3000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const sum = (a: Run[], b: Run[]): Run[] =>
  a.map((run, i) => ({ s: run.s + (b[i]?.s ?? NaN), cpu: run.cpu + (b[i]?.cpu ?? NaN) }));

/**
 * Medians. A ratio is a CLI baseline's median time over RbdStore's; in brackets, the lowest and highest of the
 * same ratio taken round by round, which shows how much the shared machine moved the numbers.
 */
function report(label: string, runs: Run[], ...baselines: Run[][]): void {
  const s = median(runs.map((r) => r.s));
  const cpu = median(runs.map((r) => r.cpu));
  const ratios = baselines.map((cli) => {
    const rounds = runs.map((r, i) => (cli[i]?.s ?? NaN) / r.s);
    const range = `${Math.min(...rounds).toFixed(2)}-${Math.max(...rounds).toFixed(2)}`;
    return `${(median(cli.map((r) => r.s)) / s).toFixed(2)} [${range}]`;
  });
  console.log(
    `${label.padEnd(40)} ${s.toFixed(2).padStart(6)} s ${(SIZE_MIB / s).toFixed(0).padStart(5)} MiB/s  ` +
      `cpu ${cpu.toFixed(2).padStart(5)} s${ratios.length > 0 ? `  ratio ${ratios.join(' / ')}` : ''}`,
  );
}

async function main(): Promise<void> {
  await makeFile();
  const expected = await sha256(createReadStream(FILE));
  const cli = { upload: [] as Run[], snapshot: [] as Run[], download: [] as Run[] };
  const results = new Map(
    DEPTHS.map((d) => [d, { unknown: [] as Run[], declared: [] as Run[], get: [] as Run[] }]),
  );

  // Rounds interleave the two ways so that a busy moment on the shared machine hurts both alike.
  for (let round = 1; round <= ROUNDS; round++) {
    const name = `${POOL}/bench-cli-${process.pid}-${round}`;
    cli.upload.push(await rbdCli(['import', '--no-progress', '--object-size', '8M', FILE, name]));
    const created = await rbdCli(['snap', 'create', `${name}@snap`]);
    const protectedSnap = await rbdCli(['snap', 'protect', `${name}@snap`]);
    cli.snapshot.push({ s: created.s + protectedSnap.s, cpu: created.cpu + protectedSnap.cpu });
    cli.download.push(await rbdCli(['export', '--no-progress', `${name}@snap`, '-']));
    await removed(async () => {
      await rbdCli(['snap', 'unprotect', `${name}@snap`]);
      await rbdCli(['snap', 'purge', '--no-progress', name]);
      await rbdCli(['rm', '--no-progress', name]);
    });

    for (const [depth, result] of results) {
      const store = new RbdStore(OPTIONS, { writes: depth, reads: depth });
      try {
        let declared = '';
        result.declared.push(
          await ours(async () => {
            const source = createReadStream(FILE, { highWaterMark: PIECE });
            declared = (await store.add(randomUUID(), source, SIZE_MIB * MIB)).location;
          }),
        );
        await removed(() => store.delete(declared));
        let location = '';
        result.unknown.push(
          await ours(async () => {
            location = (await store.add(randomUUID(), createReadStream(FILE, { highWaterMark: PIECE })))
              .location;
          }),
        );
        result.get.push(
          await ours(async () => pipeline(await store.get(location), createWriteStream('/dev/null'))),
        );
        if (round === 1 && (await sha256(await store.get(location))) !== expected) {
          throw new Error(`depth ${depth}: the data read back differs from the file`);
        }
        await removed(() => store.delete(location));
      } finally {
        await store.close();
      }
    }
    process.stderr.write(`round ${round}/${ROUNDS} done\n`);
  }

  console.log(
    `${SIZE_MIB} MiB, median of ${ROUNDS} rounds, pool ${POOL}, client.${USER}, 8 MiB objects, ` +
      `RbdStore reading the file in ${PIECE / 1024} KiB pieces`,
  );
  // What Glance needs from an upload includes the protected snapshot, which `rbd import` alone does not make.
  const withSnapshot = sum(cli.upload, cli.snapshot);
  report('rbd import', cli.upload);
  report('rbd snap create + snap protect', cli.snapshot);
  report('rbd export (of the snapshot)', cli.download);
  console.log('RbdStore.add ratios: against rbd import / against rbd import + snap create + snap protect');
  for (const [depth, r] of results) {
    report(`RbdStore.add depth ${depth}, size unknown`, r.unknown, cli.upload, withSnapshot);
    report(`RbdStore.add depth ${depth}, size declared`, r.declared, cli.upload, withSnapshot);
    report(`RbdStore.get depth ${depth}`, r.get, cli.download);
  }
  console.log(
    `RbdStore, worst transfer: event loop busy ${(worst.busy * 100).toFixed(0)} % of the time, delay p99 ` +
      `${(worst.loopP99 / 1e6).toFixed(1)} ms, max ${(worst.loopMax / 1e6).toFixed(1)} ms; ` +
      `peak RSS ${(worst.rss / MIB).toFixed(0)} MiB`,
  );
}

await main();
