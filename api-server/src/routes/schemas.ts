import type { Router } from 'express';
import { SCHEMA_NAMES, schemaDocument, type ImageSchemaConfig } from '../domain/schemas.js';
import { sendJson } from '../http/respond.js';
import { route } from '../http/routing.js';

// Upstream's task schemas are the only ones its router leaves without body_reject.
const BODY_ALLOWED = new Set(['task', 'tasks']);

/** GET /v2/schemas/<name>: the documents upstream serves, each built once from the configuration. */
export function mountSchemas(router: Router, cfg: ImageSchemaConfig): void {
  for (const name of SCHEMA_NAMES) {
    const body = schemaDocument(name, cfg);
    route(router, `/v2/schemas/${name}`, 'GET', {
      GET: { bodyReject: !BODY_ALLOWED.has(name), handler: (_req, res) => sendJson(res, 200, body, true) },
    });
  }
}
