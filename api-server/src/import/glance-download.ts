import { z } from 'zod';
import { IMAGE_ATTRIBUTES } from '../domain/image-attributes.js';
import { RESERVED_NAMESPACE } from '../domain/image-rules.js';
import { stagingDownload } from './download-step.js';
import { FetchFailed } from '../net/external-fetch.js';
import type { ImportFlowScope, Step } from './import-step.js';
import { glanceEndpoint } from './service-catalog.js';
import { ImportFailed } from './task-context.js';

/** The glance-download parameters import_image recorded in the task's import_req. */
export interface GlanceDownloadParams {
  region: string;
  imageId: string;
  serviceInterface: string;
}

const remoteImageDocument = z.looseObject({
  status: z.string(),
  disk_format: z.string().nullish(),
  container_format: z.string().nullish(),
  size: z.unknown(),
});

type RemoteImage = z.output<typeof remoteImageDocument>;

// An image document is a few KiB; anything this large is not one.
const METADATA_LIMIT = 1024 * 1024;

/**
 * The properties glance-download copies: those whose name starts with one of `prefixes`
 * ([glance_download_properties] extra_properties), never Glance's own os_glance_* ones.
 */
export function copiedProperties(
  remote: Record<string, unknown>,
  prefixes: readonly string[],
): Record<string, string> {
  const copied: Record<string, string> = {};
  for (const [key, value] of Object.entries(remote)) {
    if (IMAGE_ATTRIBUTES.has(key) || key.startsWith(RESERVED_NAMESPACE) || typeof value !== 'string')
      continue;
    if (prefixes.some((prefix) => key.startsWith(prefix))) copied[key] = value;
  }
  return copied;
}

/** int(data['size']) of _ImportMetadata: the size the downloaded data must have. */
export function remoteSize(size: unknown, remoteId: string): number {
  if (typeof size === 'number' && Number.isSafeInteger(size)) return size;
  if (typeof size === 'string' && /^\s*\d+\s*$/.test(size)) return Number(size);
  throw new ImportFailed(`Size attribute of remote image ${remoteId} could not be determined.`);
}

/**
 * upstream's _ImportMetadata and _DownloadGlanceImage: find the image service of the requested region and
 * interface in the token's catalog, take the remote image's disk and container formats and the configured
 * properties (it must be active), then download its data into staging, checked against its size. Both
 * requests carry the user's token, as upstream sends context.auth_token.
 */
export function glanceDownloadSteps(
  flow: ImportFlowScope,
  params: GlanceDownloadParams,
  authToken: string | null,
): Step[] {
  const { ctx } = flow;
  const headers: Record<string, string> = authToken === null ? {} : { 'X-Auth-Token': authToken };
  let expectedSize = 0;

  const endpoint = async (): Promise<string> => {
    const catalog = authToken === null ? [] : await ctx.serviceCatalog(authToken);
    const url = glanceEndpoint(catalog, params.region, params.serviceInterface);
    if (url === null) {
      throw new ImportFailed(
        `${params.serviceInterface} glance endpoint not found for region ${params.region}`,
      );
    }
    return url;
  };

  const readRemote = async (url: string): Promise<RemoteImage> => {
    const { body } = await ctx.openExternal(url, headers);
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > METADATA_LIMIT) {
        body.destroy();
        throw new FetchFailed(`The image document at ${url} is too large`);
      }
      chunks.push(chunk);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new FetchFailed(`The answer of ${url} is not an image document`);
    }
    const image = remoteImageDocument.safeParse(parsed);
    if (!image.success) throw new FetchFailed(`The answer of ${url} is not an image document`);
    return image.data;
  };

  let saved: {
    properties: Record<string, string | null>;
    diskFormat: string | null;
    containerFormat: string | null;
  } | null = null;
  let copied: string[] = [];
  const importMetadata: Step = {
    name: 'ImportMetadata',
    execute: async () => {
      const remote = await readRemote(`${await endpoint()}/v2/images/${params.imageId}`);
      if (remote.status !== 'active') {
        throw new ImportFailed(`Source image status should be active instead of ${remote.status}`);
      }
      if (!remote.disk_format || !remote.container_format) {
        throw new ImportFailed(`Remote image ${params.imageId} has no disk or container format`);
      }
      const properties = copiedProperties(remote, ctx.glanceDownloadProperties);
      expectedSize = remoteSize(remote.size, params.imageId);
      await flow.change((image) => {
        saved = {
          properties: { ...image.properties },
          diskFormat: image.disk_format,
          containerFormat: image.container_format,
        };
        copied = Object.keys(properties);
        return {
          diskFormat: remote.disk_format ?? undefined,
          containerFormat: remote.container_format ?? undefined,
          setProperties: properties,
        };
      });
    },
    // The properties and formats the image had before, and queued again, whatever happened.
    revert: async () => {
      const before = saved;
      await flow.change(() => {
        if (before === null) return { status: 'queued' };
        const restore: Record<string, string> = {};
        for (const key of copied) if (key in before.properties) restore[key] = before.properties[key] ?? '';
        return {
          status: 'queued',
          diskFormat: before.diskFormat ?? undefined,
          containerFormat: before.containerFormat ?? undefined,
          setProperties: restore,
          removeProperties: copied.filter((key) => !(key in before.properties)),
        };
      });
    },
  };

  const download = stagingDownload(flow, 'GlanceDownload', async () => {
    const source = `${await endpoint()}/v2/images/${params.imageId}/file`;
    ctx.log.info({ taskId: flow.task.id, source }, 'downloading glance image');
    return { data: await ctx.openExternal(source, headers), expectedSize, source };
  });

  return [importMetadata, download];
}
