import type { Router } from 'express';
import type { GlanceConfig } from '../config/index.js';
import { NotFound } from '../domain/errors.js';
import { requestContext } from '../http/locals.js';
import { sendJson } from '../http/respond.js';
import { route } from '../http/routing.js';
import type { Policy } from '../auth/policy.js';
import type { Usage } from '../services/usage.js';

interface StoreInfo {
  id: string;
  description?: string;
  default?: 'true';
  'read-only'?: 'true';
}

function storeList(cfg: GlanceConfig): StoreInfo[] {
  const backends = cfg.DEFAULT.enabled_backends;
  if (!backends) throw new NotFound('Multi backend is not supported at this site.');
  return backends.map((b) => {
    const info: StoreInfo = { id: b.name };
    if (b.store_description) info.description = b.store_description;
    if (b.name === cfg.glance_store.default_backend) info.default = 'true';
    if (b.type === 'http') info['read-only'] = 'true';
    return info;
  });
}

function storeProperties(cfg: GlanceConfig, id: string): Record<string, unknown> {
  const b = cfg.DEFAULT.enabled_backends?.find((x) => x.name === id);
  if (b?.type === 'file') {
    return {
      data_dir: b.filesystem_store_datadir,
      chunk_size: b.filesystem_store_chunk_size,
      thin_provisioning: b.filesystem_thin_provisioning,
    };
  }
  if (b?.type === 'rbd') {
    // glance_store keeps the chunk size in bytes; the option is in MiB.
    return {
      chunk_size: b.rbd_store_chunk_size * 1024 * 1024,
      pool: b.rbd_store_pool,
      thin_provisioning: b.rbd_thin_provisioning,
    };
  }
  return {};
}

/** /v2/info/*: import methods, multistore stores (404 without enabled_backends) and usage. */
export function mountInfo(router: Router, cfg: GlanceConfig, policy: Policy, usage: Usage): void {
  route(router, '/v2/info/import', 'GET', {
    GET: {
      bodyReject: true,
      handler: (_req, res) =>
        sendJson(res, 200, {
          'import-methods': {
            description: 'Import methods available.',
            type: 'array',
            value: cfg.DEFAULT.enabled_import_methods,
          },
        }),
    },
  });
  route(router, '/v2/info/stores', 'GET', {
    GET: { bodyReject: true, handler: (_req, res) => sendJson(res, 200, { stores: storeList(cfg) }) },
  });
  route(router, '/v2/info/stores/detail', 'GET', {
    GET: {
      bodyReject: true,
      handler: (_req, res) => {
        const stores = storeList(cfg);
        policy.enforce(requestContext(res), 'stores_info_detail');
        const types = new Map((cfg.DEFAULT.enabled_backends ?? []).map((b) => [b.name, b.type]));
        sendJson(res, 200, {
          stores: stores.map((s) => ({
            ...s,
            type: types.get(s.id),
            properties: storeProperties(cfg, s.id),
          })),
        });
      },
    },
  });
  route(router, '/v2/info/usage', 'GET', {
    GET: {
      handler: async (_req, res) => sendJson(res, 200, { usage: await usage.of(requestContext(res)) }),
    },
  });
}
