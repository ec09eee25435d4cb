import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  GlanceError,
  GlanceRefusedError,
  type GlanceImage,
  type GlanceImagesApi,
  type JsonPatchOp,
} from '../../operator/src/image/glance-images.js';

export type GlanceOp =
  | 'get'
  | 'findByName'
  | 'findByProperty'
  | 'create'
  | 'patch'
  | 'remove'
  | 'importMethods'
  | 'webDownload'
  | 'upload';

/** One call the reconciler made, in order. */
export interface GlanceCall {
  op: GlanceOp;
  id?: string;
  body?: unknown;
}

const WRITES: ReadonlySet<GlanceOp> = new Set(['create', 'patch', 'remove', 'webDownload', 'upload']);

/** An error as GlanceImages throws it for an HTTP status: 400, 403 and 413 are refusals (terminal). */
export function glanceError(status: number, message = `HTTP ${status}`): Error {
  return [400, 403, 413].includes(status)
    ? new GlanceRefusedError(status, message)
    : new GlanceError(status, message);
}

/**
 * An in-memory Glance for Image reconciler tests: images are created queued, become active when data is
 * uploaded (size, md5 checksum and sha512 os_hash_value computed from it) and go importing on web-download.
 * Ids are never reused, as in Glance. `calls` records every call; `failNext` makes one fail.
 */
export class FakeGlance implements GlanceImagesApi {
  readonly url = 'http://glance.test:9292';
  /** The project of the session: the owner of the images it creates, and of those `put` makes unless told. */
  readonly projectId = 'demo-project-id';
  readonly images = new Map<string, GlanceImage>();
  readonly calls: GlanceCall[] = [];
  /** What GET /v2/info/import offers. */
  importMethodsOffered = ['glance-direct', 'web-download'];
  private readonly usedIds = new Set<string>();
  /** created_at of the next image: a second after the last, so the newest is well defined. */
  private clock = Date.parse('2026-01-01T00:00:00Z');
  private readonly failures: Array<{ op: GlanceOp; error: unknown }> = [];

  /** An image as if made by someone else; returns it. */
  put(fields: Partial<GlanceImage> = {}): GlanceImage {
    const image: GlanceImage = {
      id: randomUUID(),
      name: null,
      status: 'queued',
      visibility: 'private',
      protected: false,
      os_hidden: false,
      disk_format: 'raw',
      container_format: 'bare',
      min_disk: 0,
      min_ram: 0,
      tags: [],
      size: null,
      virtual_size: null,
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      owner: this.projectId,
      created_at: new Date((this.clock += 1000)).toISOString().replace(/\.\d+Z$/, 'Z'),
      ...fields,
    };
    this.images.set(image.id, image);
    this.usedIds.add(image.id);
    return structuredClone(image);
  }

  /** Stores `data` as the image's data: active, with Glance's digests of it. */
  store(id: string, data: Buffer): void {
    const image = this.require(id);
    Object.assign(image, {
      status: 'active',
      size: data.length,
      checksum: createHash('md5').update(data).digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: createHash('sha512').update(data).digest('hex'),
    });
  }

  /** Changes an image as a person would, without a call being recorded. */
  edit(id: string, fields: Partial<GlanceImage>): void {
    Object.assign(this.require(id), fields);
  }

  failNext(op: GlanceOp, error: unknown): void {
    this.failures.push({ op, error });
  }

  /** The calls that change something. */
  writes(): GlanceCall[] {
    return this.calls.filter((c) => WRITES.has(c.op));
  }

  ops(): GlanceOp[] {
    return this.calls.map((c) => c.op);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  get(id: string): Promise<GlanceImage | undefined> {
    this.call({ op: 'get', id });
    const image = this.images.get(id);
    return Promise.resolve(image && structuredClone(image));
  }

  findByName(name: string): Promise<GlanceImage[]> {
    this.call({ op: 'findByName', body: name });
    return Promise.resolve(
      [...this.images.values()].filter((i) => i.name === name).map((i) => structuredClone(i)),
    );
  }

  /** As Glance lists them with a property filter and owner=projectId: hidden ones too (two queries). */
  findByProperty(name: string, value: string): Promise<GlanceImage[]> {
    this.call({ op: 'findByProperty', body: { [name]: value } });
    return Promise.resolve(
      [...this.images.values()]
        .filter((i) => i[name] === value && i.owner === this.projectId)
        .map((i) => structuredClone(i)),
    );
  }

  create(body: Record<string, unknown>): Promise<GlanceImage | undefined> {
    const id = String(body.id);
    this.call({ op: 'create', id, body });
    if (this.usedIds.has(id)) return Promise.resolve(undefined);
    const { id: _id, ...fields } = body;
    return Promise.resolve(this.put({ ...(fields as Partial<GlanceImage>), id }));
  }

  patch(id: string, ops: JsonPatchOp[]): Promise<GlanceImage> {
    this.call({ op: 'patch', id, body: ops });
    const image = this.require(id) as Record<string, unknown>;
    for (const op of ops) {
      const key = op.path.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
      if (op.op === 'remove') delete image[key];
      else image[key] = structuredClone(op.value);
    }
    return Promise.resolve(structuredClone(image as GlanceImage));
  }

  remove(id: string): Promise<boolean> {
    this.call({ op: 'remove', id });
    const image = this.images.get(id);
    if (!image) return Promise.resolve(false);
    if (image.protected) return Promise.reject(glanceError(403, 'image is protected'));
    this.images.delete(id);
    return Promise.resolve(true);
  }

  importMethods(): Promise<string[]> {
    this.call({ op: 'importMethods' });
    return Promise.resolve([...this.importMethodsOffered]);
  }

  webDownload(id: string, uri: string): Promise<void> {
    this.call({ op: 'webDownload', id, body: uri });
    this.require(id).status = 'importing';
    return Promise.resolve();
  }

  async upload(id: string, data: Readable, _signal: AbortSignal): Promise<void> {
    this.call({ op: 'upload', id });
    const chunks: Buffer[] = [];
    for await (const chunk of data) chunks.push(chunk as Buffer);
    this.store(id, Buffer.concat(chunks));
  }

  private call(call: GlanceCall): void {
    this.calls.push(call);
    const i = this.failures.findIndex((f) => f.op === call.op);
    if (i < 0) return;
    const [failure] = this.failures.splice(i, 1);
    throw failure?.error;
  }

  private require(id: string): GlanceImage {
    const image = this.images.get(id);
    if (!image) throw glanceError(404, `image ${id} not found`);
    return image;
  }
}
