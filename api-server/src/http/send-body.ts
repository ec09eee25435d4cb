import { closeSync, read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TLSSocket } from 'node:tls';
import { fileRangeOf, type FileRange } from '../store/file-range.js';
import { sendfileAddon, type SendfileAddon } from './sendfile-addon.js';

// Written through Node whenever the socket buffer is full: libuv then waits for room, as for any write.
const PIECE_BYTES = 64 * 1024;
// One sendfile call is bounded so that a pool thread reading a cold file is not held for long.
const STEP_BYTES = 16 * 1024 * 1024;

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
  });
}

/** Resolves once Node has handed `chunk` to the kernel; rejects when the response is torn down first. */
function writeThrough(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => reject(new Error('the client connection closed during the download'));
    res.once('close', onClose);
    res.write(chunk, (err) => {
      res.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** The descriptor of a plain TCP connection; TLS and anything unusual take the ordinary path. */
function socketFd(socket: Socket | null): number | null {
  if (socket === null || socket instanceof TLSSocket) return null;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Sends `range` as the whole body with sendfile(2). The head and the first piece go through Node, so the headers
 * are in the kernel before any file byte; after that the response is left alone until the last byte is sent.
 * Node does not count the bytes it did not write; with Content-Length set it does not need to.
 */
async function sendFileRange(
  addon: SendfileAddon,
  res: ServerResponse,
  socket: Socket,
  fd: number,
  range: FileRange,
): Promise<void> {
  const length = range.end - range.start + 1;
  const piece = Buffer.allocUnsafe(Math.min(PIECE_BYTES, Math.max(length, 0)));
  let sent = 0;
  const sendPiece = async (): Promise<void> => {
    const n = await readAt(range.fd, piece, Math.min(piece.length, length - sent), range.start + sent);
    if (n === 0) throw new Error('the image file ended before its size');
    await writeThrough(res, piece.subarray(0, n));
    sent += n;
  };
  if (length > 0) await sendPiece();
  if (sent < length) {
    const out = addon.dupSocket(fd);
    try {
      while (sent < length) {
        // Node closing its descriptor does not close our duplicate: a teardown must be noticed here.
        if (res.destroyed || socket.destroyed) {
          throw new Error('the client connection closed during the download');
        }
        const n = await addon.sendFile(
          out,
          range.fd,
          range.start + sent,
          Math.min(STEP_BYTES, length - sent),
        );
        if (n > 0) {
          sent += n;
          // Bytes Node does not see do not reset its idle timer; a long download is not idle.
          if (socket.timeout) socket.setTimeout(socket.timeout);
        } else {
          await sendPiece();
        }
      }
    } finally {
      closeSync(out);
    }
  }
  res.end();
}

/**
 * Sends a store's read stream as the response body (status and headers already set). A plain file reaches the
 * socket without passing through JS (sendfile), which is what makes downloads as fast as the disk cache; other
 * streams, HEAD, TLS or a missing addon take a pipeline. `data` is always consumed or destroyed.
 */
export async function sendBody(res: ServerResponse, data: NodeJS.ReadableStream): Promise<void> {
  const range = fileRangeOf(data);
  const addon = range === null ? null : sendfileAddon();
  const socket = res.socket;
  const fd = socketFd(socket);
  if (range !== null && addon !== null && socket !== null && fd !== null && res.req.method === 'GET') {
    // Exactly what the head announced, whatever the file holds: a file that turns out shorter fails the transfer
    // (the connection is then dropped), and extra bytes would corrupt the next response on the connection.
    const declared = Number(res.getHeader('content-length') ?? Number.NaN);
    const end = Number.isSafeInteger(declared) && declared >= 0 ? range.start + declared - 1 : range.end;
    try {
      await sendFileRange(addon, res, socket, fd, { ...range, end });
    } finally {
      (data as NodeJS.ReadableStream & { destroy(): void }).destroy();
    }
    return;
  }
  const declared = Number(res.getHeader('content-length') ?? Number.NaN);
  if (declared === 0) {
    // The head is the whole response. Ended at once, not after the stream's end: a client holding the complete
    // response may close the connection straight away, and a pipeline still open then fails with Premature close.
    (data as NodeJS.ReadableStream & { destroy(): void }).destroy();
    res.end();
    return;
  }
  res.flushHeaders();
  if (!Number.isSafeInteger(declared) || declared < 0 || res.req.method === 'HEAD') {
    await pipeline(data, res);
    return;
  }
  // As on the sendfile path: a stream that ends short must fail the response (so the caller drops the connection)
  // rather than leave a keep-alive client waiting for bytes that never come.
  let sent = 0;
  const exactly = new Transform({
    transform(chunk: Buffer, _encoding, done): void {
      sent += chunk.length;
      done(sent > declared ? new Error('the image data is longer than its size') : null, chunk);
    },
    flush(done): void {
      done(sent < declared ? new Error('the image data ended before its size') : null);
    },
  });
  await pipeline(data, exactly, res);
}
