import type { Target } from './report.js';

// The targets (issue 8), in one place so the table, the JSON and the README agree.
export const TARGETS = {
  uploadVsUpstream: { op: '>=', value: 3, text: '≥ 3× upstream' },
  uploadVsHashLimit: { op: '>=', value: 0.8, text: '≥ 80% of the hash limit' },
  downloadVsUpstream: { op: '>=', value: 2, text: '≥ 2× upstream' },
  downloadVsCat: { op: '>=', value: 0.9, text: '≥ 90% of cat' },
  listP50VsUpstream: { op: '<=', value: 0.2, text: '≤ 0.2× upstream' },
  showRateVsUpstream: { op: '>=', value: 5, text: '≥ 5× upstream' },
  rssPeak: { op: '<=', value: 120, text: '≤ 120 MB per process' },
  // "Flat": the last quarter of the upload peaks no more than 10% above the first quarter, i.e. memory
  // does not grow with the bytes that have gone through.
  rssFlat: { op: '<=', value: 1.1, text: 'flat (≤ 1.1× first quarter)' },
  // Issue 4: the rbd store's client library is justified by moving data at ≥ 90% of librbd's own CLI.
  rbdVsCli: { op: '>=', value: 0.9, text: '≥ 90% of rbd import/export' },
  imageTransferVsRaw: { op: '<=', value: 1.1, text: '≤ 1.1× raw transfer' },
  // Issue 18: publishing never slows a request (measured: an image's life with notifications on vs off).
  notifyOnVsOff: { op: '<=', value: 1.1, text: '≤ 1.1× with notifications off' },
} as const satisfies Record<string, Target>;

export function meets(value: number, target: Target): boolean {
  return target.op === '>=' ? value >= target.value : value <= target.value;
}
