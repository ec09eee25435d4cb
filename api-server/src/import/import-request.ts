import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { GlanceConfig } from '../config/index.js';
import { Conflict, Invalid } from '../domain/errors.js';

export type ImportMethod = GlanceConfig['DEFAULT']['enabled_import_methods'][number];

/** A POST /v2/images/{id}/import body that upstream's deserializer accepts. */
export interface ImportRequest {
  method: ImportMethod;
  uri: unknown;
  allStores: boolean;
  allStoresMustSucceed: boolean;
  stores: string[] | undefined;
  /** The body as sent: upstream keeps it whole as the task's import_req. */
  body: Record<string, unknown>;
}

const bad = (message: string) => new Invalid(message);

const bodySchema = z.looseObject({
  method: z.looseObject({}),
  all_stores: z.unknown().optional(),
  all_stores_must_succeed: z.unknown().optional(),
  stores: z.unknown().optional(),
});

/** RequestDeserializer._validate_import_body, in upstream's order and with its messages. */
export function parseImportRequest(body: unknown, enabled: readonly ImportMethod[]): ImportRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('Request body must be a JSON object.');
  }
  const raw = body as Record<string, unknown>;
  if (!Object.hasOwn(raw, 'method')) throw bad("Import request requires a 'method' field.");
  const parsed = bodySchema.safeParse(raw);
  if (!parsed.success || !Object.hasOwn(parsed.data.method, 'name')) {
    throw bad("Import request requires a 'name' field.");
  }
  const { method, all_stores: allStores = false, all_stores_must_succeed: mustSucceed = true } = parsed.data;
  const name = method.name;
  if (typeof name !== 'string' || !(enabled as readonly string[]).includes(name)) {
    throw bad(`Unknown import method name '${String(name)}'.`);
  }
  if (typeof mustSucceed !== 'boolean') throw bad("'all_stores_must_succeed' must be boolean value only");
  if (typeof allStores !== 'boolean') throw bad("'all_stores' must be boolean value only");
  const stores = parsed.data.stores;
  if (stores !== undefined && !(Array.isArray(stores) && stores.every((s) => typeof s === 'string'))) {
    throw bad("'stores' must be a list of store identifiers");
  }
  return {
    method: name as ImportMethod,
    uri: method.uri,
    allStores,
    allStoresMustSucceed: mustSucceed,
    stores: stores as string[] | undefined,
    body: raw,
  };
}

/**
 * get_stores_from_request: the stores to import into under enabled_backends (all of them but the read-only
 * ones, the body's `stores`, the x-image-meta-store header, or the default backend), each checked to exist.
 */
export function requestedStores(
  request: ImportRequest,
  headers: IncomingHttpHeaders,
  backends: readonly string[],
  defaultBackend: string,
  readOnly: readonly string[] = [],
): string[] {
  const header = headers['x-image-meta-store'];
  let stores: string[];
  if (request.allStores) {
    if (request.stores !== undefined || header !== undefined) {
      throw bad("All_stores parameter can't be used with x-image-meta-store header or stores parameter");
    }
    // _get_available_stores: an http store can never be written, so "all" leaves it out.
    stores = backends.filter((b) => !readOnly.includes(b));
  } else if (request.stores !== undefined) {
    if (header !== undefined)
      throw bad("Stores parameter and x-image-meta-store header can't be both specified");
    stores = request.stores;
  } else {
    stores = [typeof header === 'string' ? header : defaultBackend];
  }
  for (const store of stores) {
    if (!backends.includes(store)) {
      throw new Conflict(`Store for identifier ${store} not found`);
    }
  }
  return stores;
}
