import { glanceServiceToReady, imageServices } from '../glance-service-run.js';
import { installCrds, kubeFromStack, suffix } from '../kube.js';
import { measurement, type RunnableScenario, type ScenarioOutcome } from '../scenario.js';

// Database, migrations, Keystone, Ceph pool and keyring, then a Job and a Deployment run by the kubelet:
// minutes at most, even on a loaded machine.
const READY_TIMEOUT_MS = 10 * 60_000;

export const operatorGlanceServiceReady: RunnableScenario = {
  kind: 'runnable',
  id: 'operator-glance-service-ready',
  title: () => "Operator: GlanceService apply → Ready on the stack's one-node cluster (real pods)",
  async run(ctx): Promise<ScenarioOutcome> {
    const kube = kubeFromStack();
    await installCrds(kube);
    const servicesBefore = await imageServices();
    const samples: number[] = [];
    for (let rep = 0; rep < ctx.repetitions; rep++) {
      const run = await glanceServiceToReady(kube, ctx.cleanups, suffix(), READY_TIMEOUT_MS);
      samples.push(run.readyMs);
      await run.remove();
      ctx.progress(
        `operator-glance-service-ready: repetition ${rep + 1}/${ctx.repetitions}: Ready after ` +
          `${(run.readyMs / 1000).toFixed(1)} s`,
      );
    }
    const servicesAfter = await imageServices();
    if (servicesAfter.join() !== servicesBefore.join()) {
      throw new Error(
        `Keystone's image services were ${servicesBefore.join(', ')} and are now ${servicesAfter.join(', ')}`,
      );
    }
    return {
      measurements: [measurement('ready', 'apply → Ready', 'ms', samples)],
      checks: [],
      notes: [
        'samples/glanceservice.yaml with a new namespace, region, database, Keystone user/service and Ceph ' +
          'pool/user each repetition (deletionPolicy Delete), so every step starts from nothing: database and ' +
          'grants, Keystone registration, pool and client keyring, config, the migration Job and the API ' +
          "Deployment, run as pods by the kubelet from the stack's image; timed from the apply to the watch event " +
          "with Ready=True; the operator's start-up is not counted; each is deleted through the operator " +
          'afterwards',
      ],
    };
  },
};
