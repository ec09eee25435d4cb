import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CoreV1Api, V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';

/** One pod path prefix and the host directory that stands in for it (what a bind mount would do). */
export interface PathMapping {
  podPath: string;
  hostPath: string;
}

export interface PodFiles {
  /** Longest pod path first, so /etc/ceph/x wins over /etc. */
  mappings: PathMapping[];
  /** Volumes not materialised (service-account tokens, hostPath, ...): nothing here reads them. */
  skipped: string[];
}

export class PodConfigError extends Error {}

/** `podPath` as the host sees it, or undefined when it lies under no mapping. */
export function hostPathFor(mappings: readonly PathMapping[], podPath: string): string | undefined {
  for (const { podPath: prefix, hostPath } of mappings) {
    const base = prefix.replace(/\/+$/, '');
    if (podPath === base || podPath === `${base}/`) return podPath.endsWith('/') ? `${hostPath}/` : hostPath;
    if (podPath.startsWith(`${base}/`)) return path.join(hostPath, podPath.slice(base.length + 1));
  }
  return undefined;
}

/**
 * INI values (`key = value`) that are absolute pod paths, or file:// URLs of them, point at the host paths.
 * Only values are touched, and only when they start with a mounted prefix: passwords and URLs stay as they are.
 */
export function rewriteIniPaths(text: string, mappings: readonly PathMapping[]): string {
  return text.replace(
    /^([ \t]*[^#;[\s][^=\n]*?[ \t]*=[ \t]*)(file:\/\/)?(\/\S*)[ \t]*$/gm,
    (line, head, scheme, p) => {
      const host = hostPathFor(mappings, p as string);
      return host === undefined ? line : `${head as string}${(scheme as string | undefined) ?? ''}${host}`;
    },
  );
}

/**
 * In the pod, librados finds client.<id>'s keyring by its default search path, /etc/ceph/$cluster.$name.keyring.
 * Here /etc/ceph is elsewhere, so a ceph.conf mounted at /etc/ceph without its own `keyring` line gets one
 * naming the same file under the host directory.
 */
export function pointCephConfAtKeyring(text: string, hostCephDir: string): string {
  if (/^\s*keyring\s*=/m.test(text)) return text;
  const line = `keyring = ${hostCephDir}/$cluster.$name.keyring`;
  return /^\[global\]\s*$/m.test(text)
    ? text.replace(/^\[global\]\s*$/m, `[global]\n${line}`)
    : `[global]\n${line}\n${text}`;
}

type SourceData = Map<string, Buffer>;

async function volumeData(core: CoreV1Api, namespace: string, volume: V1Volume): Promise<SourceData | null> {
  const decode = (data: Record<string, string> | undefined, base64: boolean): SourceData =>
    new Map(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, base64 ? 'base64' : 'utf8')]));
  const missing = (kind: string, name: string) =>
    new PodConfigError(`${kind} ${namespace}/${name} of volume ${volume.name} not found`);
  if (volume.secret) {
    const name = volume.secret.secretName ?? '';
    const secret = await core.readNamespacedSecret({ namespace, name }).catch(() => undefined);
    if (!secret) {
      if (volume.secret.optional) return new Map();
      throw missing('Secret', name);
    }
    return decode(secret.data, true);
  }
  if (volume.configMap) {
    const name = volume.configMap.name ?? '';
    const cm = await core.readNamespacedConfigMap({ namespace, name }).catch(() => undefined);
    if (!cm) {
      if (volume.configMap.optional) return new Map();
      throw missing('ConfigMap', name);
    }
    return new Map([...decode(cm.data, false), ...decode(cm.binaryData, true)]);
  }
  return null;
}

/**
 * Writes what the container would find at each of its mounts: Secret and ConfigMap volumes as files in
 * `podDir`, claims as directories under `claimsDir` (kept across pods, like a volume), emptyDirs in `podDir`.
 * Files are then given the path rewrites above, which are the only differences from the pod's view.
 */
export async function materialisePodFiles(opts: {
  core: CoreV1Api;
  pod: V1Pod;
  container: V1Container;
  podDir: string;
  claimsDir: string;
  /** The image's own files, e.g. { podPath: '/app', hostPath: <repository root> }. */
  imageMappings: PathMapping[];
}): Promise<PodFiles> {
  const { core, pod, container, podDir, claimsDir } = opts;
  const namespace = pod.metadata?.namespace ?? '';
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const written = new Map<string, { dir: string; files: string[] }>();
  const skipped: string[] = [];
  for (const volume of volumes.values()) {
    const dir = path.join(podDir, 'volumes', volume.name);
    if (volume.persistentVolumeClaim) {
      const claimDir = path.join(claimsDir, namespace, volume.persistentVolumeClaim.claimName);
      await mkdir(claimDir, { recursive: true });
      written.set(volume.name, { dir: claimDir, files: [] });
      continue;
    }
    if (volume.emptyDir) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      written.set(volume.name, { dir, files: [] });
      continue;
    }
    const data = await volumeData(core, namespace, volume);
    if (!data) {
      skipped.push(volume.name);
      continue;
    }
    const items = volume.secret?.items ?? volume.configMap?.items;
    const entries = items
      ? items.map((i) => {
          const value = data.get(i.key);
          if (!value) throw new PodConfigError(`volume ${volume.name} has no key ${i.key}`);
          return [i.path, value] as const;
        })
      : [...data.entries()];
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const files: string[] = [];
    for (const [rel, value] of entries) {
      const file = path.join(dir, rel);
      if (!file.startsWith(`${dir}/`)) throw new PodConfigError(`volume ${volume.name}: bad path ${rel}`);
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      // Secrets are tmpfs files readable by the pod only; 0600 is the nearest thing here.
      await writeFile(file, value, { mode: 0o600 });
      files.push(file);
    }
    written.set(volume.name, { dir, files });
  }

  const mappings: PathMapping[] = [...opts.imageMappings];
  for (const mount of container.volumeMounts ?? []) {
    const volume = written.get(mount.name);
    if (!volume) continue;
    const hostPath = mount.subPath ? path.join(volume.dir, mount.subPath) : volume.dir;
    mappings.push({ podPath: mount.mountPath.replace(/\/+$/, ''), hostPath });
  }
  mappings.sort((a, b) => b.podPath.length - a.podPath.length);

  for (const mount of container.volumeMounts ?? []) {
    const volume = written.get(mount.name);
    if (!volume) continue;
    for (const file of volume.files) {
      if (!file.endsWith('.conf')) continue;
      let text = rewriteIniPaths(await readFile(file, 'utf8'), mappings);
      if (mount.mountPath.replace(/\/+$/, '') === '/etc/ceph' && path.basename(file) === 'ceph.conf') {
        text = pointCephConfAtKeyring(text, volume.dir);
      }
      await writeFile(file, text);
    }
  }
  return { mappings, skipped };
}
