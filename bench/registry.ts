import type { Scenario } from './scenario.js';
import { concurrentShow } from './scenarios/concurrent-show.js';
import { downloadFile } from './scenarios/download-file.js';
import { downloadRbd } from './scenarios/download-rbd.js';
import { listImages } from './scenarios/list-images.js';
import { notifyLatency } from './scenarios/notify-latency.js';
import { operatorGlanceServiceReady } from './scenarios/operator-glance-service-ready.js';
import { operatorImageTransfer } from './scenarios/operator-image-transfer.js';
import { rbdStore } from './scenarios/rbd-store.js';
import { uploadFile } from './scenarios/upload-file.js';
import { uploadRbd } from './scenarios/upload-rbd.js';
import { uploadRss } from './scenarios/upload-rss.js';

/** Every scenario of issues 8 (and rbd-store, of issue 4), in the order the table shows them. A new scenario is one module and one line. */
export const SCENARIOS: readonly Scenario[] = [
  uploadFile,
  uploadRbd,
  downloadFile,
  downloadRbd,
  rbdStore,
  listImages,
  concurrentShow,
  notifyLatency,
  uploadRss,
  operatorGlanceServiceReady,
  operatorImageTransfer,
];
