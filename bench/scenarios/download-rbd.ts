import { rbdExport } from '../rbd-cli.js';
import { rbdServers, RBD_POOL, RBD_USER } from '../rbd-servers.js';
import { describeBytes, ratio, type RunnableScenario, type ScenarioOutcome } from '../scenario.js';
import { TARGETS } from '../targets.js';
import { DOWNLOAD_METHOD, measureDownloads, type DownloadBaseline } from './download-file.js';

const rbdExportOfImage: DownloadBaseline = {
  id: 'rbd-export',
  label: '`rbd export` of the image into a pipe',
  prepare: async (id) => () => rbdExport(id),
};

/** download-file's measurement against private instances of both servers with the rbd store. */
export const downloadRbd: RunnableScenario = {
  kind: 'runnable',
  id: 'download-rbd',
  title: (ctx) => `Download of a ${describeBytes(ctx.sizes.uploadBytes)} image, rbd store`,
  async run(ctx): Promise<ScenarioOutcome> {
    const servers = await rbdServers(ctx);
    const m = await measureDownloads({ ...ctx, ...servers }, 'download-rbd', rbdExportOfImage);
    return {
      measurements: [m.ours, m.upstream, m.baseline],
      checks: [
        ratio('ours ÷ upstream', m.ours, m.upstream, TARGETS.downloadVsUpstream),
        // Not a target: the comparison with librbd's CLI is the rbd-store scenario, without HTTP.
        ratio('ours ÷ rbd export', m.ours, m.baseline),
      ],
      notes: [
        `a private instance of each server on a free port, the stack's glance-api.conf with [glance_store] ` +
          `stores = rbd, pool ${RBD_POOL}, user ${RBD_USER}, on the stack's one-node Ceph; the image is ` +
          `uploaded once through ours and read through both; \`rbd export\` (same user) is the baseline; ` +
          DOWNLOAD_METHOD,
      ],
    };
  },
};
