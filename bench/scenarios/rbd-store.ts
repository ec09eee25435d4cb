import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadRbdAddon, type PoolHandle } from '../../api-server/src/store/rbd-native.js';
import { RbdStore } from '../../api-server/src/store/rbd-store.js';
import { stackValue } from '../../test/harness/stack-env.js';
import { hashFile } from '../baselines.js';
import { randomFile } from '../data.js';
import { rbdExport, rbdImport, rbdRemove } from '../rbd-cli.js';
import { RBD_POOL, RBD_USER } from '../rbd-servers.js';
import {
  describeBytes,
  measurement,
  ratio,
  type RunnableScenario,
  type ScenarioOutcome,
} from '../scenario.js';
import { MIB, mibPerSecond } from '../stats.js';
import { TARGETS } from '../targets.js';

// An HTTP body arrives in pieces of this size, and the store gets them as they come.
const BODY_PIECE = 64 * 1024;

/**
 * The file as an HTTP body reaches the store: 64 KiB pieces, handed over without a wait each (they are read
 * 1 MiB at a time and cut, since a 64 KiB file read costs a thread-pool round trip that a socket read does not).
 */
function bodyPieces(file: string): Readable {
  async function* pieces(): AsyncGenerator<Buffer> {
    for await (const read of createReadStream(file, { highWaterMark: MIB })) {
      const buffer = read as Buffer;
      for (let at = 0; at < buffer.length; at += BODY_PIECE) yield buffer.subarray(at, at + BODY_PIECE);
    }
  }
  return Readable.from(pieces(), { objectMode: false });
}

/**
 * The protected snapshot every upload ends with, made on an imported image with the same two librbd calls
 * RbdStore makes (the CLI would add two process starts and cluster connections to the timing).
 */
async function timedSnapshot(pool: PoolHandle, image: string): Promise<number> {
  const addon = loadRbdAddon();
  const handle = await addon.imageOpen(pool, image, null, false);
  try {
    return await timed(async () => {
      await addon.snapCreate(handle, 'snap');
      await addon.snapProtect(handle, 'snap');
    });
  } finally {
    await addon.imageClose(handle);
  }
}

/** Lets the OSD finish freeing a removed image's objects before the next timed transfer. */
const settle = () => sleep(3000);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** Reads a stream to its end, counting and dropping the bytes. */
async function drain(stream: NodeJS.ReadableStream): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

/**
 * The choice of client library (issue 4): the api-server's RbdStore (our N-API addon over librbd) against
 * librbd's own CLI, the same file, user, pool and object size, without HTTP or hashing on either side.
 */
export const rbdStore: RunnableScenario = {
  kind: 'runnable',
  id: 'rbd-store',
  title: (ctx) => `RbdStore (our librbd addon) vs the rbd CLI, ${describeBytes(ctx.sizes.uploadBytes)} file`,
  async run(ctx): Promise<ScenarioOutcome> {
    const bytes = ctx.sizes.uploadBytes;
    const file = await randomFile(ctx.workdir, bytes);
    await hashFile(file); // into the page cache
    const store = new RbdStore({
      rbd_store_pool: RBD_POOL,
      rbd_store_user: RBD_USER,
      rbd_store_ceph_conf: stackValue('CEPH_CONF'),
      rbd_store_chunk_size: 8,
      rbd_thin_provisioning: false,
    });
    const stopStore = ctx.cleanups.add('the RbdStore connection', () => store.close());
    const addon = loadRbdAddon();
    const cluster = await addon.connect(stackValue('CEPH_CONF'), RBD_USER);
    const pool = await addon.poolOpen(cluster, RBD_POOL);
    const disconnect = ctx.cleanups.add("the baseline's cluster connection", async () => {
      addon.poolClose(pool);
      await addon.clusterShutdown(cluster);
    });
    const samples = {
      add: [] as number[],
      get: [] as number[],
      import: [] as number[],
      snap: [] as number[],
    };
    const exportSamples: number[] = [];
    try {
      for (let rep = 0; rep < ctx.repetitions; rep++) {
        // Which client goes first alternates, so that a busy moment on the shared machine hurts both alike.
        const runCli = async () => {
          const image = `bench-rbd-cli-${process.pid}-${rep}`;
          const removeImage = ctx.cleanups.add(`rbd image ${image}`, () => rbdRemove(image, 'snap'));
          try {
            const importMs = await rbdImport(file, image);
            const snapMs = await timedSnapshot(pool, image);
            samples.import.push(mibPerSecond(bytes, importMs));
            samples.snap.push(mibPerSecond(bytes, importMs + snapMs));
            const exported = await rbdExport(`${image}@snap`);
            if (exported.bytes !== bytes)
              throw new Error(`rbd export gave ${exported.bytes} of ${bytes} bytes`);
            exportSamples.push(mibPerSecond(bytes, exported.ms));
          } finally {
            await removeImage();
          }
          await settle();
        };
        const runStore = async () => {
          let location = '';
          const addMs = await timed(async () => {
            location = (await store.add(randomUUID(), bodyPieces(file), bytes)).location;
          });
          const removeImage = ctx.cleanups.add(`rbd image ${location}`, () => store.delete(location));
          try {
            samples.add.push(mibPerSecond(bytes, addMs));
            let read = 0;
            const getMs = await timed(async () => (read = await drain(await store.get(location))));
            if (read !== bytes) throw new Error(`RbdStore.get gave ${read} of ${bytes} bytes`);
            samples.get.push(mibPerSecond(bytes, getMs));
          } finally {
            await removeImage();
          }
          await settle();
        };
        for (const step of rep % 2 === 0 ? [runStore, runCli] : [runCli, runStore]) await step();
        ctx.progress(`rbd-store: repetition ${rep + 1}/${ctx.repetitions} done`);
      }
    } finally {
      await stopStore();
      await disconnect();
    }
    const add = measurement('store-add', 'RbdStore.add, with the protected snapshot', 'MiB/s', samples.add);
    const cliImport = measurement('rbd-import', '`rbd import`', 'MiB/s', samples.import);
    const cliSnap = measurement(
      'rbd-import-snap',
      '`rbd import`, then the protected snapshot (librbd, as RbdStore makes it)',
      'MiB/s',
      samples.snap,
    );
    const get = measurement('store-get', 'RbdStore.get, read and dropped', 'MiB/s', samples.get);
    const cliExport = measurement(
      'rbd-export',
      '`rbd export` into a pipe, read and dropped',
      'MiB/s',
      exportSamples,
    );
    return {
      measurements: [add, cliImport, cliSnap, get, cliExport],
      checks: [
        ratio('RbdStore.add ÷ rbd import', add, cliImport, TARGETS.rbdVsCli),
        ratio('RbdStore.add ÷ rbd import with the snapshot', add, cliSnap, TARGETS.rbdVsCli),
        ratio('RbdStore.get ÷ rbd export', get, cliExport, TARGETS.rbdVsCli),
      ],
      notes: [
        `pool ${RBD_POOL}, client.${RBD_USER}, 8 MiB objects, format 2 with the cluster's rbd_default_features ` +
          `(both clients), on the stack's one-node Ceph; RbdStore reads the file in ${BODY_PIECE / 1024} KiB pieces (as an HTTP body arrives), with ` +
          'the size declared (Content-Length), and makes the protected snapshot `snap` as glance_store does; ' +
          '`rbd import` alone makes none, so it is shown with and without that snapshot, made afterwards with ' +
          "RbdStore's two librbd calls (the snapshot waits for the monitors to allocate its id: 0.05–1 s); " +
          'each removal is followed by a 3 s pause for the OSD to free the objects',
      ],
    };
  },
};
