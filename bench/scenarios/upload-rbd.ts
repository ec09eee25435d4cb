import { rbdServers, RBD_POOL, RBD_USER } from '../rbd-servers.js';
import { describeBytes, type RunnableScenario, type ScenarioOutcome } from '../scenario.js';
import { uploadFile } from './upload-file.js';

/** upload-file's measurement, unchanged, against private instances of both servers with the rbd store. */
export const uploadRbd: RunnableScenario = {
  kind: 'runnable',
  id: 'upload-rbd',
  title: (ctx) => `Upload of a ${describeBytes(ctx.sizes.uploadBytes)} random file, rbd store`,
  async run(ctx): Promise<ScenarioOutcome> {
    const servers = await rbdServers(ctx);
    const progress = (m: string) => ctx.progress(m.replace(/^upload-file/, 'upload-rbd'));
    const outcome = await uploadFile.run({ ...ctx, ...servers, progress });
    return {
      ...outcome,
      notes: [
        ...outcome.notes,
        `a private instance of each server on a free port, the stack's glance-api.conf with [glance_store] ` +
          `stores = rbd, pool ${RBD_POOL}, user ${RBD_USER}, 8 MiB objects, on the stack's one-node Ceph; ` +
          'each upload ends with the protected snapshot both servers make',
      ],
    };
  },
};
