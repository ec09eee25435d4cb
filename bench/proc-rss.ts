import { readdir, readFile, readlink } from 'node:fs/promises';

// Everything here reads Linux's /proc; the benchmark runs as root on the stack's machine, so every process is
// readable.

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function pids(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}

/** Inodes of the sockets listening on `port` (IPv4 or IPv6). */
async function listeningInodes(port: number): Promise<Set<string>> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of ((await readOrNull(table)) ?? '').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex, st 0A is LISTEN, the inode is the tenth field.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

async function holdsSocket(pid: number, inodes: Set<string>): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1]!)) return true;
  }
  return false;
}

async function parentOf(pid: number): Promise<number | null> {
  const stat = await readOrNull(`/proc/${pid}/stat`);
  // The command name (2nd field) may hold spaces and parentheses: the fields after its last ')' are fixed.
  const rest = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest?.[1] === undefined ? null : Number(rest[1]);
}

/** The script a node process runs: its first argument ending in .js. */
async function scriptOf(pid: number): Promise<string | null> {
  const cmdline = await readOrNull(`/proc/${pid}/cmdline`);
  return cmdline?.split('\0').find((arg) => arg.endsWith('.js')) ?? null;
}

/**
 * The process serving `port` and at the top of its cluster: node:cluster's primary holds the listening socket,
 * and its workers run the same script. Climbing while the parent runs that script finds the primary even if a
 * worker holds the socket.
 */
export async function serverRoot(port: number): Promise<number> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) throw new Error(`nothing listens on port ${port}`);
  let holder: number | undefined;
  for (const pid of await pids()) {
    if (await holdsSocket(pid, inodes)) {
      holder = pid;
      break;
    }
  }
  if (holder === undefined) throw new Error(`no process holds the socket listening on port ${port}`);
  const script = await scriptOf(holder);
  let root = holder;
  for (;;) {
    const parent = await parentOf(root);
    if (parent === null || parent <= 1 || script === null || (await scriptOf(parent)) !== script) return root;
    root = parent;
  }
}

/** `root` and all its descendants. */
export async function processTree(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const pid of await pids()) {
    const parent = await parentOf(pid);
    if (parent !== null) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export interface Resident {
  /** VmRSS: every resident page, shared file pages (the node binary) included. */
  rss: number;
  /** RssAnon: the process's own heap and buffers. */
  anon: number;
  /** Pss: like VmRSS, but a page shared by n processes counts 1/n in each, so a tree's sum counts it once. */
  pss: number;
}

/** Resident memory in bytes per process; processes that have gone are left out. */
export async function residentOf(processes: number[]): Promise<Map<number, Resident>> {
  const resident = new Map<number, Resident>();
  for (const pid of processes) {
    const status = await readOrNull(`/proc/${pid}/status`);
    const kib = (field: string): number | undefined => {
      const value =
        status === null ? undefined : new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
      return value === undefined ? undefined : Number(value) * 1024;
    };
    const rss = kib('VmRSS');
    const anon = kib('RssAnon');
    const rollup = await readOrNull(`/proc/${pid}/smaps_rollup`);
    const pssKib = rollup === null ? undefined : /^Pss:\s+(\d+) kB$/m.exec(rollup)?.[1];
    if (rss !== undefined && anon !== undefined && pssKib !== undefined) {
      resident.set(pid, { rss, anon, pss: Number(pssKib) * 1024 });
    }
  }
  return resident;
}
