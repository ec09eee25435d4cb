import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ChecksumMismatchError } from '../../../../operator/src/image/checksum.js';
import { SourceError } from '../../../../operator/src/image/http-source.js';
import { UrlPolicy, urlPolicyEnv } from '../../../../operator/src/net/url-policy.js';
import { TerminalError } from '../../../../operator/src/runtime/errors.js';
import {
  FormatMismatchError,
  transfer,
  type TransferPlan,
  type TransferProgress,
  type TransferResult,
} from '../../../../operator/src/image/transfer-pipeline.js';

// A real HTTP server on loopback plays the source; the "Glance" side is a function collecting the bytes.
const image = Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), randomBytes(3 * 1024 * 1024)]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const xz = execFileSync('xz', ['-c', '-0'], { input: image, maxBuffer: 64 * 1024 * 1024 });

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, string[]>();
let server: Server;
let base = '';

function serve(body: Buffer, opts: { ranges?: boolean; dropFirstAt?: number } = {}): Handler {
  return (req, res, hit) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = opts.ranges !== false && range ? Number(range[1]) : 0;
    const headers: Record<string, string | number> = {
      'Content-Length': body.length - start,
      ETag: '"v1"',
      ...(opts.ranges !== false ? { 'Accept-Ranges': 'bytes' } : {}),
    };
    if (start > 0) headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (hit === 1 && opts.dropFirstAt !== undefined) {
      res.write(body.subarray(0, opts.dropFirstAt), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    const seen = hits.get(path) ?? [];
    seen.push(req.headers.range ?? '');
    hits.set(path, seen);
    const handler = routes.get(path);
    if (handler) handler(req, res, seen.length);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  routes.set('/disk.qcow2', serve(image));
  routes.set('/disk.qcow2.gz', serve(gzipSync(image)));
  routes.set('/disk.qcow2.xz', serve(xz));
  routes.set('/drops.qcow2', serve(image, { dropFirstAt: 1024 * 1024 }));
  routes.set('/drops-norange.qcow2', serve(image, { ranges: false, dropFirstAt: 1024 * 1024 }));
  routes.set('/redirect', (_req, res) => res.writeHead(302, { Location: '/disk.qcow2' }).end());
  routes.set('/broken', (_req, res) => res.writeHead(503).end());
  routes.set('/to-metadata', (_req, res) =>
    res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  );
});
afterAll(() => new Promise((r) => server.close(r)));

// The test's source server is on loopback, which the operator's default policy refuses.
const loopbackAllowed = new UrlPolicy(urlPolicyEnv.parse({ URL_POLICY_ALLOW: '127.0.0.1' }));

function plan(path: string, extra: Partial<TransferPlan> = {}): TransferPlan {
  return {
    url: `${base}${path}`,
    access: { headers: {}, policy: loopbackAllowed },
    decompress: 'auto',
    diskFormat: 'qcow2',
    retries: 3,
    retryBaseMs: 10,
    ...extra,
  };
}

async function run(p: TransferPlan) {
  const chunks: Buffer[] = [];
  let uploadCalls = 0;
  const progress: TransferProgress = { bytes: 0, resumes: 0 };
  const upload = async (data: Readable) => {
    uploadCalls++;
    for await (const chunk of data) chunks.push(chunk as Buffer);
  };
  const outcome: { result?: TransferResult; error?: unknown } = await transfer(
    p,
    upload,
    progress,
    new AbortController().signal,
  ).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  return { ...outcome, uploaded: Buffer.concat(chunks), uploadCalls, progress };
}

describe('transfer', () => {
  it('streams the source to the uploader and verifies its checksum', async () => {
    const r = await run(plan('/disk.qcow2', { expected: { algorithm: 'sha256', hex: sha256(image) } }));
    expect(r.uploaded.equals(image)).toBe(true);
    expect(r.result).toEqual({
      sourceDigest: `sha256:${sha256(image)}`,
      uploaded: { bytes: image.length, digest: { algorithm: 'sha256', hex: sha256(image) } },
    });
    expect(r.progress).toEqual({ bytes: image.length, total: image.length, resumes: 0 });
  });

  it('fails the upload stream, not just the result, when the checksum does not match', async () => {
    const r = await run(
      plan('/disk.qcow2', { expected: { algorithm: 'sha256', hex: sha256(Buffer.from('x')) } }),
    );
    expect(r.error).toBeInstanceOf(ChecksumMismatchError);
    expect(r.uploadCalls).toBe(1);
  });

  it.each([
    ['gz', '/disk.qcow2.gz'],
    ['xz', '/disk.qcow2.xz'],
  ])('detects %s from the magic bytes and uploads the decompressed image', async (format, path) => {
    const r = await run(plan(path));
    expect(r.result?.compression).toBe(format);
    expect(r.uploaded.equals(image)).toBe(true);
  });

  it('checks the checksum on the compressed bytes', async () => {
    const r = await run(plan('/disk.qcow2.xz', { expected: { algorithm: 'sha256', hex: sha256(xz) } }));
    expect(r.result?.sourceDigest).toBe(`sha256:${sha256(xz)}`);
    // It says nothing of the decompressed bytes Glance got, which therefore are compared by length only.
    expect(r.result?.uploaded).toEqual({ bytes: image.length });
  });

  it('resumes a dropped connection with a Range request from the byte it stopped at', async () => {
    const r = await run(plan('/drops.qcow2', { expected: { algorithm: 'sha256', hex: sha256(image) } }));
    expect(r.uploaded.equals(image)).toBe(true);
    expect(hits.get('/drops.qcow2')).toEqual(['', `bytes=${1024 * 1024}-`]);
    expect(r.progress.resumes).toBe(1);
  });

  it('gives up on a source that answers a Range request with the whole file', async () => {
    const r = await run(plan('/drops-norange.qcow2'));
    expect(r.error).toBeInstanceOf(SourceError);
    expect((r.error as SourceError).reason).toBe('RangeUnsupported');
  });

  it('refuses a format mismatch before anything is uploaded', async () => {
    const r = await run(plan('/disk.qcow2', { diskFormat: 'raw' }));
    expect(r.error).toBeInstanceOf(FormatMismatchError);
    expect(r.uploadCalls).toBe(0);
  });

  it('follows a redirect', async () => {
    const r = await run(plan('/redirect'));
    expect(r.uploaded.equals(image)).toBe(true);
  });

  it("refuses a source on an address outside the operator's URL policy before fetching it", async () => {
    const strict = new UrlPolicy(urlPolicyEnv.parse({}));
    const before = hits.get('/disk.qcow2')?.length ?? 0;
    const r = await run(plan('/disk.qcow2', { access: { headers: {}, policy: strict } }));
    expect(r.error).toMatchObject({ reason: 'SourceNotAllowed' });
    expect((r.error as Error).message).toContain('127.0.0.1');
    expect(hits.get('/disk.qcow2')?.length ?? 0).toBe(before);
  });

  it('refuses a redirect to a refused address, once, without retrying', async () => {
    const r = await run(plan('/to-metadata'));
    expect(r.error).toMatchObject({ reason: 'SourceNotAllowed' });
    expect((r.error as Error).message).toContain('169.254.169.254');
    expect(hits.get('/to-metadata')).toHaveLength(1);
  });

  it('takes a 404 as terminal at once, and a 503 as transient after the retries', async () => {
    const missing = await run(plan('/missing'));
    expect(missing.error).toBeInstanceOf(TerminalError);
    expect(hits.get('/missing')).toHaveLength(1);
    const broken = await run(plan('/broken', { retries: 2 }));
    expect(broken.error).toBeInstanceOf(SourceError);
    expect(hits.get('/broken')).toHaveLength(3);
  });
});
