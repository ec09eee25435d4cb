import { rbdImport, rbdRemove } from '../rbd-cli.js';
import { rbdServers, RBD_POOL, RBD_USER } from '../rbd-servers.js';
import { describeBytes, type RunnableScenario, type ScenarioOutcome } from '../scenario.js';
import { hashLimit, measureUploads, UPLOAD_METHOD, type UploadBaseline } from './upload-file.js';

const rbdImportBaseline: UploadBaseline = {
  id: 'rbd-import',
  label: '`rbd import` of the file (8 MiB objects, default features)',
  async time(file, rep) {
    const image = `bench-rbd-import-${process.pid}-${rep}`;
    const ms = await rbdImport(file, image);
    await rbdRemove(image);
    return ms;
  },
  // Not the like-for-like: the store alone is (rbd-store); an upload must also hash every byte twice.
  check: { label: 'ours ÷ rbd import' },
};

/** upload-file's measurement against private instances of both servers with the rbd store, and `rbd import`. */
export const uploadRbd: RunnableScenario = {
  kind: 'runnable',
  id: 'upload-rbd',
  title: (ctx) => `Upload of a ${describeBytes(ctx.sizes.uploadBytes)} random file, rbd store`,
  async run(ctx): Promise<ScenarioOutcome> {
    const servers = await rbdServers(ctx);
    const measured = await measureUploads({ ...ctx, ...servers }, 'upload-rbd', [
      hashLimit,
      rbdImportBaseline,
    ]);
    return {
      ...measured,
      notes: [
        UPLOAD_METHOD,
        `a private instance of each server on a free port, the stack's glance-api.conf with [glance_store] ` +
          `stores = rbd, pool ${RBD_POOL}, user ${RBD_USER}, 8 MiB objects, on the stack's one-node Ceph; ` +
          'each upload ends with the protected snapshot both servers make; `rbd import` (same user) is the ' +
          'librbd baseline: it hashes nothing and makes no snapshot',
      ],
    };
  },
};
