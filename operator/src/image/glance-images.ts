import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { EndpointHttp } from '../net/endpoint-http.js';
import { TerminalError } from '../runtime/errors.js';
import type { GlanceSession } from './keystone-session.js';

/** A Glance call that did not succeed, with its HTTP status (0: no answer). */
export class GlanceError extends Error {
  override readonly name = 'GlanceError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Glance refusing the request itself (bad property, quota, size cap): the same request will be refused again.
 * Other failures are GlanceErrors: 401 is an expired token, 409 a race.
 */
export class GlanceRefusedError extends TerminalError {
  override readonly name = 'GlanceRefusedError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('GlanceRefused', message);
  }
}

const REFUSED = new Set([400, 403, 413]);

/** The fields of a Glance image the operator reads; everything else is a property. */
export const glanceImage = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    status: z.string(),
    visibility: z.string(),
    protected: z.boolean(),
    os_hidden: z.boolean().default(false),
    disk_format: z.string().nullable(),
    container_format: z.string().nullable(),
    min_disk: z.number().int().nullable(),
    min_ram: z.number().int().nullable(),
    tags: z.array(z.string()),
    size: z.number().int().nullable(),
    virtual_size: z.number().int().nullable().optional(),
    checksum: z.string().nullable(),
    os_hash_algo: z.string().nullable().optional(),
    os_hash_value: z.string().nullable().optional(),
    owner: z.string().nullable().optional(),
    created_at: z.string().optional(),
  })
  .catchall(z.unknown());
export type GlanceImage = z.output<typeof glanceImage>;

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

const TIMEOUT_MS = 30_000;

/** The Image API v2 calls the Image controller makes. */
export interface GlanceImagesApi {
  /** The Glance root URL, for Events. */
  readonly url: string;
  /** The project the session acts for: the owner of the images it creates. */
  readonly projectId: string;
  get(id: string): Promise<GlanceImage | undefined>;
  findByName(name: string): Promise<GlanceImage[]>;
  /** The images of the session's project with this property value, hidden ones (os_hidden) included. */
  findByProperty(name: string, value: string): Promise<GlanceImage[]>;
  /** Creates the image; undefined when an image with that id exists or existed (Glance never reuses ids). */
  create(body: Record<string, unknown>): Promise<GlanceImage | undefined>;
  patch(id: string, ops: JsonPatchOp[]): Promise<GlanceImage>;
  /** Deletes the image; false when it was already gone. */
  remove(id: string): Promise<boolean>;
  importMethods(): Promise<string[]>;
  webDownload(id: string, uri: string): Promise<void>;
  upload(id: string, data: Readable, signal: AbortSignal): Promise<void>;
}

/**
 * Just the Image API v2 calls the Image controller makes, with a session's token, each through `http` (the
 * URL policy): the token goes only to an allowed Glance.
 */
export class GlanceImages implements GlanceImagesApi {
  constructor(
    private readonly session: GlanceSession,
    private readonly http: EndpointHttp,
    private readonly onWrite: (operation: string) => void = () => undefined,
  ) {}

  get url(): string {
    return this.session.imageUrl;
  }

  get projectId(): string {
    return this.session.projectId;
  }

  private async call(method: string, path: string, body?: unknown, contentType = 'application/json') {
    if (method !== 'GET') this.onWrite(method);
    const res = await this.http.request(`${this.session.imageUrl}${path}`, {
      method,
      headers: {
        'X-Auth-Token': this.session.token,
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': contentType }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs: TIMEOUT_MS,
    });
    return { status: res.status, text: res.text };
  }

  private fail(method: string, path: string, res: { status: number; text: string }): never {
    const message = `Glance ${method} ${path}: HTTP ${res.status} ${summary(res.text)}`;
    throw REFUSED.has(res.status)
      ? new GlanceRefusedError(res.status, message)
      : new GlanceError(res.status, message);
  }

  async get(id: string): Promise<GlanceImage | undefined> {
    const path = `/v2/images/${id}`;
    const res = await this.call('GET', path);
    if (res.status === 404) return undefined;
    if (res.status !== 200) this.fail('GET', path, res);
    return glanceImage.parse(JSON.parse(res.text));
  }

  async findByName(name: string): Promise<GlanceImage[]> {
    return this.list(`name=${encodeURIComponent(name)}&limit=10`);
  }

  async findByProperty(name: string, value: string): Promise<GlanceImage[]> {
    // Glance lists hidden images only when asked for them, and then only those.
    const owner = encodeURIComponent(this.projectId);
    const filter = `${encodeURIComponent(name)}=${encodeURIComponent(value)}&owner=${owner}&limit=10`;
    const [shown, hidden] = await Promise.all([this.list(filter), this.list(`${filter}&os_hidden=true`)]);
    return [...shown, ...hidden];
  }

  private async list(query: string): Promise<GlanceImage[]> {
    const res = await this.call('GET', `/v2/images?${query}`);
    if (res.status !== 200) this.fail('GET', '/v2/images', res);
    return z.object({ images: z.array(glanceImage) }).parse(JSON.parse(res.text)).images;
  }

  async create(body: Record<string, unknown>): Promise<GlanceImage | undefined> {
    const res = await this.call('POST', '/v2/images', body);
    if (res.status === 409) return undefined;
    if (res.status !== 201) this.fail('POST', '/v2/images', res);
    return glanceImage.parse(JSON.parse(res.text));
  }

  async patch(id: string, ops: JsonPatchOp[]): Promise<GlanceImage> {
    const path = `/v2/images/${id}`;
    const res = await this.call('PATCH', path, ops, 'application/openstack-images-v2.1-json-patch');
    if (res.status !== 200) this.fail('PATCH', path, res);
    return glanceImage.parse(JSON.parse(res.text));
  }

  async remove(id: string): Promise<boolean> {
    const path = `/v2/images/${id}`;
    const res = await this.call('DELETE', path);
    if (res.status === 404) return false;
    if (res.status !== 204) this.fail('DELETE', path, res);
    return true;
  }

  async importMethods(): Promise<string[]> {
    const res = await this.call('GET', '/v2/info/import');
    if (res.status !== 200) return [];
    const parsed = z
      .object({ 'import-methods': z.object({ value: z.array(z.string()) }) })
      .safeParse(JSON.parse(res.text));
    return parsed.success ? parsed.data['import-methods'].value : [];
  }

  async webDownload(id: string, uri: string): Promise<void> {
    const path = `/v2/images/${id}/import`;
    const res = await this.call('POST', path, { method: { name: 'web-download', uri } });
    if (res.status !== 202) this.fail('POST', path, res);
  }

  /**
   * Streams `data` into the image. Chunked, so that Glance sees a complete body only if `data` ends cleanly:
   * a source that fails (a checksum mismatch found at its end included) aborts the request and Glance throws
   * the partial data away.
   */
  async upload(id: string, data: Readable, signal: AbortSignal): Promise<void> {
    const path = `/v2/images/${id}/file`;
    const url = new URL(`${this.session.imageUrl}${path}`);
    const lookup = await this.http.lookupFor(url);
    this.onWrite('PUT');
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'PUT',
      headers: {
        'X-Auth-Token': this.session.token,
        'Content-Type': 'application/octet-stream',
        'Transfer-Encoding': 'chunked',
      },
      signal,
      agent: false,
      ...(lookup ? { lookup } : {}),
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    // Glance may answer (409, 413) before the body is sent: that answer is the error worth reporting.
    const sent = pipeline(data, req).then(
      () => undefined,
      (err: unknown) => err,
    );
    let res: IncomingMessage;
    try {
      res = await response;
    } catch (err) {
      throw (await sent) ?? err;
    }
    let text = '';
    for await (const chunk of res) text += String(chunk);
    const sendError = await Promise.race([sent, Promise.resolve(undefined)]);
    if (res.statusCode !== 204) {
      data.destroy();
      this.fail('PUT', path, { status: res.statusCode ?? 0, text });
    }
    if (sendError) throw sendError;
  }
}

function summary(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: string; title?: string };
    if (body.message) return body.message.replace(/\s+/g, ' ').slice(0, 300);
  } catch {
    // Not JSON: webob's text or HTML.
  }
  return text
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}
