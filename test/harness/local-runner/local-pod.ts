import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api, V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  containerCommand,
  ContainerProcess,
  freePort,
  probeOnce,
  type ContainerCommand,
  type ExitInfo,
} from './container-process.js';
import { materialisePodFiles, PodConfigError, type PathMapping } from './pod-files.js';

export interface LocalPodDeps {
  core: CoreV1Api;
  /** Pods' files go under <stateDir>/pods, claims under <stateDir>/claims, container logs under <stateDir>/logs. */
  stateDir: string;
  imageMappings: PathMapping[];
  log: Logger;
  /** Called whenever what the pod's status would say has changed. */
  changed: (pod: LocalPod) => void;
}

type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; reason: string; startedAt: string; finishedAt: string } };

const time = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
const CONFIG_RETRY_MS = 3000;
const MAX_RESTART_DELAY_MS = 30_000;

/** Env values from literals and Secret keys, as the kubelet resolves them before starting a container. */
async function resolveEnv(
  core: CoreV1Api,
  namespace: string,
  vars: V1EnvVar[],
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const v of vars) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.secretKeyRef) {
      const ref = v.valueFrom.secretKeyRef;
      const secret = await core
        .readNamespacedSecret({ namespace, name: ref.name ?? '' })
        .catch(() => undefined);
      const value = secret?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new PodConfigError(`env ${v.name}: Secret ${namespace}/${ref.name} has no key ${ref.key}`);
      }
      env[v.name] = Buffer.from(value, 'base64').toString('utf8');
    } else if (v.valueFrom) {
      throw new PodConfigError(`env ${v.name}: only value and secretKeyRef are supported locally`);
    }
  }
  return env;
}

/**
 * One pod bound to the local node: its single container run as a host process under the pod's restart
 * policy, with its readiness probe, and the state a kubelet would report.
 */
export class LocalPod {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly podDir: string;
  port = 0;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' = 'Pending';
  ready = false;
  restartCount = 0;
  private state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  private lastState: ContainerState | undefined;
  private readonly startTime = new Date();
  private readyChangedAt = new Date();
  private process: ContainerProcess | undefined;
  private readonly abort = new AbortController();
  private readonly container: V1Container;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly pod: V1Pod,
    private readonly deps: LocalPodDeps,
  ) {
    this.uid = pod.metadata?.uid ?? '';
    this.namespace = pod.metadata?.namespace ?? '';
    this.name = pod.metadata?.name ?? '';
    this.labels = pod.metadata?.labels ?? {};
    this.podDir = path.join(deps.stateDir, 'pods', `${this.namespace}_${this.name}_${this.uid}`);
    const containers = pod.spec?.containers ?? [];
    if (containers.length !== 1 || (pod.spec?.initContainers ?? []).length > 0) {
      throw new PodConfigError('only pods with one container and no init containers run locally');
    }
    this.container = containers[0] as V1Container;
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  start(): void {
    this.loop = this.run().catch((err: unknown) => {
      if (!this.stopped) this.deps.log.error({ pod: this.name, err: String(err) }, 'local pod loop failed');
    });
  }

  /** Stops the container (SIGTERM, then SIGKILL after `graceMs`) and removes the pod's files. */
  async stop(graceMs: number): Promise<void> {
    this.abort.abort();
    await this.process?.stop(graceMs);
    await this.loop;
    await rm(this.podDir, { recursive: true, force: true });
  }

  private setReady(ready: boolean): void {
    if (ready === this.ready) return;
    this.ready = ready;
    this.readyChangedAt = new Date();
    this.deps.changed(this);
  }

  private async prepare(): Promise<ContainerCommand> {
    for (;;) {
      try {
        await mkdir(this.podDir, { recursive: true, mode: 0o700 });
        const files = await materialisePodFiles({
          core: this.deps.core,
          pod: this.pod,
          container: this.container,
          podDir: this.podDir,
          claimsDir: path.join(this.deps.stateDir, 'claims'),
          imageMappings: this.deps.imageMappings,
        });
        const env = await resolveEnv(this.deps.core, this.namespace, this.container.env ?? []);
        this.port = await freePort();
        this.deps.log.info(
          {
            pod: `${this.namespace}/${this.name}`,
            port: this.port,
            mappings: files.mappings,
            skipped: files.skipped,
          },
          'starting pod',
        );
        return containerCommand(this.container, files.mappings, env, this.port);
      } catch (err) {
        if (!(err instanceof PodConfigError)) throw err;
        this.state = { waiting: { reason: 'CreateContainerConfigError', message: err.message } };
        this.deps.changed(this);
        await sleep(CONFIG_RETRY_MS, undefined, { signal: this.abort.signal });
      }
    }
  }

  private async run(): Promise<void> {
    const command = await this.prepare();
    const logFile = path.join(this.deps.stateDir, 'logs', `${this.namespace}_${this.name}.log`);
    await mkdir(path.dirname(logFile), { recursive: true, mode: 0o700 });
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    for (;;) {
      if (this.stopped) return;
      const proc = new ContainerProcess(command, logFile);
      this.process = proc;
      this.phase = 'Running';
      this.state = { running: { startedAt: time(proc.startedAt) } };
      this.deps.changed(this);
      void this.probe(proc);
      const exit = await proc.exited;
      if (this.stopped) return;
      this.setReady(false);
      const terminated = this.terminated(proc, exit);
      const succeeded = exit.code === 0;
      if (policy === 'Never' || (policy === 'OnFailure' && succeeded)) {
        this.phase = succeeded ? 'Succeeded' : 'Failed';
        this.state = terminated;
        this.deps.changed(this);
        return;
      }
      this.lastState = terminated;
      this.restartCount += 1;
      this.state = { waiting: { reason: 'CrashLoopBackOff', message: `exit ${exit.code ?? exit.signal}` } };
      this.deps.changed(this);
      const delay = Math.min(1000 * 2 ** (this.restartCount - 1), MAX_RESTART_DELAY_MS);
      await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  private terminated(proc: ContainerProcess, exit: ExitInfo): ContainerState {
    const exitCode = exit.code ?? 128 + (exit.signal === 'SIGKILL' ? 9 : 15);
    return {
      terminated: {
        exitCode,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: time(proc.startedAt),
        finishedAt: time(exit.at),
      },
    };
  }

  /** Readiness: every second until the first success, then at the probe's period, like the kubelet. */
  private async probe(proc: ContainerProcess): Promise<void> {
    const probe = this.container.readinessProbe;
    let exited = false;
    void proc.exited.then(() => (exited = true));
    if (!probe) {
      this.setReady(true);
      return;
    }
    let failures = 0;
    while (!exited && !this.stopped) {
      const ok = await probeOnce(probe, this.port);
      if (exited || this.stopped) return;
      failures = ok ? 0 : failures + 1;
      if (ok) this.setReady(true);
      else if (failures >= (probe.failureThreshold ?? 3)) this.setReady(false);
      const periodMs = this.ready ? (probe.periodSeconds ?? 10) * 1000 : 1000;
      await sleep(periodMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  /** The pod's status as the kubelet would write it (a merge patch of `status`). */
  status(): Record<string, unknown> {
    const ready = this.ready ? 'True' : 'False';
    const finished = this.phase === 'Succeeded' || this.phase === 'Failed';
    const readyReason = finished
      ? { reason: 'PodCompleted' }
      : this.ready
        ? {}
        : { reason: 'ContainersNotReady' };
    const at = time(this.readyChangedAt);
    const started = time(this.startTime);
    return {
      phase: this.phase,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: started,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: started },
        { type: 'Initialized', status: 'True', lastTransitionTime: started },
        { type: 'ContainersReady', status: ready, lastTransitionTime: at, ...readyReason },
        { type: 'Ready', status: ready, lastTransitionTime: at, ...readyReason },
      ],
      containerStatuses: [
        {
          name: this.container.name,
          image: this.container.image ?? '',
          imageID: '',
          ...(this.process?.pid ? { containerID: `local://${this.process.pid}` } : {}),
          ready: this.ready,
          started: 'running' in this.state,
          restartCount: this.restartCount,
          state: this.state,
          ...(this.lastState ? { lastState: this.lastState } : {}),
        },
      ],
    };
  }
}
