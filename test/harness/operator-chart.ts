import path from 'node:path';
import { findRepoRoot } from './paths.js';
import { run } from './run.js';
import { stackValue } from './stack-env.js';

export interface ChartRelease {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly release: string;
  /** The operator's image, `repository:tag`. */
  readonly image: string;
  /** Only this namespace (a Role there, no cluster-wide permission): the release leaves with its namespace. */
  readonly watchNamespace?: string;
  readonly replicas?: number;
  /** Seconds between the operator's full re-reads (the chart's default is 300). */
  readonly resyncSeconds?: number;
  /** The chart's urlPolicy values: where the operator may fetch sources from. */
  readonly urlPolicy?: { deny: string[]; allow: string[] };
}

// From the source tree (tests) or from dist/ (the compiled demo) alike.
const CHART = path.join(findRepoRoot(), 'charts/glance-operator');

function helm(release: ChartRelease, args: string[], timeoutMs = 360_000) {
  return run(stackValue('HELM'), ['--kubeconfig', release.kubeconfig, '-n', release.namespace, ...args], {
    timeoutMs,
  });
}

/**
 * `helm upgrade --install` of charts/glance-operator, as a user installs it, with the image this machine built
 * (imported into the node's containerd, so never pulled). Returns when the operator's pods are ready.
 */
export async function installOperatorChart(release: ChartRelease): Promise<void> {
  const colon = release.image.lastIndexOf(':');
  const strings = {
    'image.repository': release.image.slice(0, colon),
    'image.tag': release.image.slice(colon + 1),
    'image.pullPolicy': 'Never',
    watchNamespace: release.watchNamespace ?? '',
    'operator.logLevel': 'debug',
  };
  await helm(release, [
    'upgrade',
    '--install',
    release.release,
    CHART,
    '--create-namespace',
    ...Object.entries(strings).flatMap(([k, v]) => ['--set-string', `${k}=${v}`]),
    '--set',
    `replicaCount=${release.replicas ?? 1}`,
    ...(release.resyncSeconds ? ['--set', `operator.resyncSeconds=${release.resyncSeconds}`] : []),
    ...(release.urlPolicy ? ['--set-json', `urlPolicy=${JSON.stringify(release.urlPolicy)}`] : []),
    '--wait',
    '--timeout',
    '5m',
  ]).then(
    () => undefined,
    (err: unknown) => {
      throw new Error(`helm install of the operator did not become ready: ${String(err)}`);
    },
  );
}

export async function uninstallOperatorChart(release: ChartRelease): Promise<void> {
  await helm(release, ['uninstall', release.release, '--wait', '--timeout', '2m']);
}
