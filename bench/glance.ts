import type { Readable } from 'node:stream';
import { z } from 'zod';
import { drain, send, type Reply } from './http.js';
import type { Server } from './scenario.js';

const imageSchema = z.object({
  id: z.string(),
  status: z.string(),
  size: z.number().nullable(),
  checksum: z.string().nullable(),
  os_hash_value: z.string().nullable(),
});
export type ImageJson = z.infer<typeof imageSchema>;

const listSchema = z.object({ images: z.array(z.object({ id: z.string() })) });

// Uploads of several GiB to a slow server on a busy machine take minutes, never half an hour.
const DATA_TIMEOUT_MS = 30 * 60_000;

function expectStatus(reply: Reply, expected: number[], what: string): void {
  if (!expected.includes(reply.status)) {
    throw new Error(`${what}: HTTP ${reply.status}: ${reply.body.toString('utf8').slice(0, 500)}`);
  }
}

/** The Image API calls the scenarios make, on one server with one token. */
export class GlanceClient {
  constructor(
    readonly server: Server,
    readonly token: () => Promise<string>,
  ) {}

  async #headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    return { 'X-Auth-Token': await this.token(), ...extra };
  }

  async createImage(name: string): Promise<string> {
    const reply = await send(`${this.server.url}/v2/images`, {
      method: 'POST',
      headers: await this.#headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare', visibility: 'private' }),
    });
    expectStatus(reply, [201], `${this.server.name}: create image`);
    return imageSchema.parse(JSON.parse(reply.body.toString('utf8'))).id;
  }

  async upload(id: string, data: Readable, length: number): Promise<void> {
    const reply = await send(`${this.server.url}/v2/images/${id}/file`, {
      method: 'PUT',
      headers: await this.#headers({
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(length),
      }),
      body: data,
      timeoutMs: DATA_TIMEOUT_MS,
    });
    expectStatus(reply, [204], `${this.server.name}: upload to ${id}`);
  }

  /** Downloads and drops the data; returns the byte count and the Content-MD5 header. */
  async download(id: string): Promise<{ bytes: number; contentMd5: string | null }> {
    const got = await drain(
      `${this.server.url}/v2/images/${id}/file`,
      await this.#headers(),
      DATA_TIMEOUT_MS,
    );
    if (got.status !== 200) {
      throw new Error(`${this.server.name}: download of ${id}: HTTP ${got.status}: ${got.errorText}`);
    }
    const md5 = got.headers['content-md5'];
    return { bytes: got.bytes, contentMd5: typeof md5 === 'string' ? md5 : null };
  }

  async show(id: string): Promise<ImageJson> {
    const reply = await send(`${this.server.url}/v2/images/${id}`, { headers: await this.#headers() });
    expectStatus(reply, [200], `${this.server.name}: show ${id}`);
    return imageSchema.parse(JSON.parse(reply.body.toString('utf8')));
  }

  /** An image already gone is not an error: cleanup may run twice, or after the other server deleted it. */
  async deleteImage(id: string): Promise<void> {
    const reply = await send(`${this.server.url}/v2/images/${id}`, {
      method: 'DELETE',
      headers: await this.#headers(),
    });
    expectStatus(reply, [204, 404], `${this.server.name}: delete ${id}`);
  }

  /** Times one list request from sending it to the last byte of the answer, then checks the answer. */
  async timedList(query: string): Promise<{ ms: number; images: number }> {
    const headers = await this.#headers({ Accept: 'application/json' });
    const start = performance.now();
    const reply = await send(`${this.server.url}/v2/images?${query}`, { headers });
    const ms = performance.now() - start;
    expectStatus(reply, [200], `${this.server.name}: list images`);
    return { ms, images: listSchema.parse(JSON.parse(reply.body.toString('utf8'))).images.length };
  }
}
