import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { loadStackEnv } from '../../harness/stack-env.js';

const exec = promisify(execFile);
const REPO = new URL('../../../', import.meta.url).pathname;
export const CHART = `${REPO}charts/glance-operator`;
// helm and kubectl keep caches and settings under HOME: a throwaway one keeps them out of the clone and of root's.
const TOOL_HOME = mkdtempSync(path.join(tmpdir(), 'glance-op-tools-'));

// The stack's up flow builds both from their Go modules into its cache; the scripts only print the path then.
async function cachedTool(script: string): Promise<string> {
  const { stdout } = await exec('bash', [`${REPO}scripts/${script}`], { timeout: 60_000 });
  return stdout.trim().split('\n').at(-1) ?? '';
}
let helmPath: Promise<string> | undefined;
let kubectlPath: Promise<string> | undefined;
export const helmBinary = () => (helmPath ??= cachedTool('build-helm.sh'));
export const kubectlBinary = () =>
  (kubectlPath ??= cachedTool('build-kube.sh').then((dir) => `${dir}/kubectl`));

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool against the stack's kube-apiserver; a non-zero exit is a result, not an exception. */
async function runTool(file: string, args: string[]): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await exec(file, args, {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: TOOL_HOME,
        KUBECONFIG: loadStackEnv().KUBECONFIG,
      },
      timeout: 120_000,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export const helm = async (...args: string[]) => runTool(await helmBinary(), args);
export const kubectl = async (...args: string[]) => runTool(await kubectlBinary(), args);

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** `helm template` of the chart with `--set` values; throws with helm's message when it refuses. */
export async function renderChart(
  set: Record<string, string> = {},
  opts: { release?: string; namespace?: string; extra?: string[] } = {},
): Promise<Manifest[]> {
  const args = ['template', opts.release ?? 'glance-operator', CHART, '--namespace', opts.namespace ?? 'ops'];
  for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
  const res = await helm(...args, ...(opts.extra ?? []));
  if (res.code !== 0) throw new Error(res.stderr.trim());
  return parseManifests(res.stdout);
}

export const findManifest = (all: Manifest[], kind: string, name?: string) =>
  all.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
