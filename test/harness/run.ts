import { spawn } from 'node:child_process';
import { loadStackEnv } from './stack-env.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

// Debian's OpenStack and Ceph CLIs must run on Debian's python3, which a pyenv shim may shadow.
const SYSTEM_PATH = `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`;

/**
 * Runs a command with the stack's admin credentials (OS_*) in its environment. Stdin is closed
 * (or fed `input`): `openstack image create` without --file reads image data from a non-TTY stdin.
 */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const stack = loadStackEnv();
  const osVars = Object.fromEntries(Object.entries(stack).filter(([k]) => k.startsWith('OS_')));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...osVars, PATH: SYSTEM_PATH, ...opts.env },
      timeout: opts.timeoutMs ?? 120_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${stderr.trim() || stdout.trim()}`,
          ),
        );
    });
  });
}
