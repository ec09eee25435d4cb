import type { PlannedScenario } from '../scenario.js';
import { TARGETS } from '../targets.js';

// Scenarios of issue 8 that need code still being written elsewhere. Each becomes a RunnableScenario in its
// own module (and replaces its entry in registry.ts) once that code exists; until then the table says why not.

const RBD_MISSING =
  'our api-server serves only the file store so far (RbdStore is being written under issue 4 and is not ' +
  'wired into main.ts), and the stack runs no rbd-backed glance-api to compare with';

export const uploadRbd: PlannedScenario = {
  kind: 'planned',
  id: 'upload-rbd',
  title: 'Upload of a 1 GiB random file, rbd store',
  targets: [TARGETS.uploadVsUpstream, TARGETS.uploadVsHashLimit],
  missing: RBD_MISSING,
};

export const downloadRbd: PlannedScenario = {
  kind: 'planned',
  id: 'download-rbd',
  title: 'Download of a 1 GiB image, rbd store',
  targets: [TARGETS.downloadVsUpstream],
  missing: RBD_MISSING,
};

export const operatorGlanceServiceReady: PlannedScenario = {
  kind: 'planned',
  id: 'operator-glance-service-ready',
  title: 'Operator: GlanceService apply → Ready on the local control plane',
  targets: [],
  missing: 'the operator (issue 5) is being written and the stack does not run it yet',
};

export const operatorImageTransfer: PlannedScenario = {
  kind: 'planned',
  id: 'operator-image-transfer',
  title: 'Operator: Image from a local URL → active, vs the raw transfer of the same file',
  targets: [TARGETS.imageTransferVsRaw],
  missing: 'the Image resource and its controller (issue 6) do not exist yet',
};
