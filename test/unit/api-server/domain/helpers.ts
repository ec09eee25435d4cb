import { readFileSync } from 'node:fs';
import { asHttpError } from '../../../../api-server/src/http/error-map.js';
import type { HttpError } from '../../../../api-server/src/http/errors.js';
import {
  DEFAULT_DOMAIN_CONFIG,
  type DomainConfig,
  type ImageRecord,
} from '../../../../api-server/src/domain/types.js';

/** Debian's /etc/glance/schema-image.json, which upstream merges into the image schema. */
export const debianCustomProperties = JSON.parse(
  readFileSync(new URL('./fixtures/debian-schema-image.json', import.meta.url), 'utf8'),
) as DomainConfig['customImageProperties'];

export const config: DomainConfig = {
  ...DEFAULT_DOMAIN_CONFIG,
  customImageProperties: debianCustomProperties,
};

/** How the API answers `err` (a domain error, as the edge maps it); fails the test for any other error. */
export function answered(err: unknown): HttpError {
  const http = asHttpError(err);
  if (http === null) throw err;
  return http;
}

/** How the API answers what `fn` throws; fails the test when it throws nothing or an unknown error. */
export function httpError(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    return answered(err);
  }
  throw new Error('expected an error the API answers');
}

/** The text upstream puts in the error body: webob's `explanation=` or its positional `detail`. */
export function errorText(err: HttpError): string {
  return err.detail || err.explanation;
}

export function image(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: '6bd2d3d8-56b6-4a4c-9a1f-8ab8e1c1c2d3',
    name: 'cirros',
    disk_format: 'qcow2',
    container_format: 'bare',
    size: null,
    virtual_size: null,
    status: 'queued',
    visibility: 'shared',
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    min_disk: 0,
    min_ram: 0,
    protected: false,
    os_hidden: false,
    owner: 'p1',
    created_at: new Date('2024-05-01T10:20:30.456Z'),
    updated_at: new Date('2024-05-02T11:22:33Z'),
    deleted_at: null,
    deleted: false,
    properties: {},
    tags: [],
    locations: [],
    ...overrides,
  };
}
