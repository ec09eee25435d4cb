import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import { hostPathFor, PodConfigError, type PathMapping } from './pod-files.js';

export interface ContainerCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** A free loopback port, for a process that is told to listen on it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

const mapArg = (mappings: readonly PathMapping[], arg: string) =>
  arg.startsWith('/') ? (hostPathFor(mappings, arg) ?? arg) : arg;

/**
 * The container's command as a host process. Only this repository's image is known here: its command is
 * `node <script under the image's workdir>`, so `node` is this Node and the workdir comes from the image
 * mapping. Each pod has its own network namespace in a cluster; here each gets its own loopback port, which
 * the api-server is given through its `GLANCE_DEFAULT__BIND_*` overrides instead of the containerPort.
 */
export function containerCommand(
  container: V1Container,
  mappings: readonly PathMapping[],
  secretEnv: Record<string, string>,
  port: number,
): ContainerCommand {
  const [cmd, ...cmdArgs] = container.command ?? [];
  if (cmd !== 'node') {
    throw new PodConfigError(
      `container ${container.name}: only this repository's image (command node …) runs locally, not ${cmd ?? 'its entrypoint'}`,
    );
  }
  const cwd = hostPathFor(mappings, container.workingDir ?? '/');
  if (!cwd)
    throw new PodConfigError(`container ${container.name}: workingDir ${container.workingDir} is not mapped`);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: cwd,
    ...secretEnv,
    GLANCE_DEFAULT__BIND_HOST: '127.0.0.1',
    GLANCE_DEFAULT__BIND_PORT: String(port),
  };
  return {
    file: process.execPath,
    args: [...cmdArgs, ...(container.args ?? [])].map((a) => mapArg(mappings, a)),
    cwd,
    env,
  };
}

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null; at: Date };

/** A started container process; its output is appended to `logFile`. */
export class ContainerProcess {
  private readonly child: ChildProcess;
  readonly startedAt = new Date();
  readonly exited: Promise<ExitInfo>;

  constructor(command: ContainerCommand, logFile: string) {
    const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    this.child = spawn(command.file, command.args, {
      cwd: command.cwd,
      env: command.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log, { end: false });
    this.child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((resolve) => {
      this.child.once('error', () => resolve({ code: 127, signal: null, at: new Date() }));
      this.child.once('exit', (code, signal) => {
        log.end();
        resolve({ code, signal, at: new Date() });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM, then SIGKILL after the grace period, as the kubelet stops a container. */
  async stop(graceMs: number): Promise<ExitInfo> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const info = await this.exited;
      clearTimeout(timer);
      return info;
    }
    return this.exited;
  }
}

/** One readiness check of an httpGet or tcpSocket probe: 200–399 is success, as for the kubelet. */
export async function probeOnce(probe: V1Probe, port: number): Promise<boolean> {
  try {
    if (probe.httpGet) {
      const res = await fetch(`http://127.0.0.1:${port}${probe.httpGet.path ?? '/'}`, {
        redirect: 'manual',
        signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000),
      });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400;
    }
    if (probe.tcpSocket) {
      return await new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
    }
  } catch {
    return false;
  }
  // exec probes cannot run outside the image: treated as passing.
  return true;
}
