import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** native/src/glance_sendfile.cc. Failures reject with an Error carrying `code` (errno name) and `errno`. */
export interface SendfileAddon {
  /** A close-on-exec duplicate of `fd`, closed by the caller (fs.closeSync). */
  dupSocket(fd: number): number;
  /** Sends up to `count` bytes of `fileFd` from `offset`; resolves with the bytes sent, 0 when the socket is full. */
  sendFile(socketFd: number, fileFd: number, offset: number, count: number): Promise<number>;
}

export const SENDFILE_ADDON_PATH = 'native/build/Release/glance_sendfile.node';

let addon: SendfileAddon | null | undefined;

/**
 * The addon `npm run build:native` builds, looked for above this module (so the TypeScript sources under test and
 * dist/ both find it), or null without it: downloads then stream through Node, slower but the same bytes.
 */
export function sendfileAddon(): SendfileAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform !== 'linux') return addon;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, SENDFILE_ADDON_PATH);
    if (existsSync(candidate)) {
      addon = createRequire(import.meta.url)(candidate) as SendfileAddon;
      break;
    }
    if (path.dirname(dir) === dir) break;
  }
  return addon;
}
