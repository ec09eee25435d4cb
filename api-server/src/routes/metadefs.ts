import type { Router } from 'express';
import type { Policy } from '../auth/policy.js';
import type { MetadefRepository } from '../db/metadef-repo.js';
import { metadefSchemas } from '../domain/metadef-bodies.js';
import type { DomainConfig } from '../domain/types.js';
import { MetadefAccess } from './metadef-access.js';
import { mountMetadefNamespaces } from './metadef-namespaces.js';
import { mountMetadefObjects } from './metadef-objects.js';
import { mountMetadefProperties } from './metadef-properties.js';
import { mountMetadefResourceTypes } from './metadef-resource-types.js';
import { mountMetadefTags } from './metadef-tags.js';

export interface MetadefsDeps {
  metadefs: MetadefRepository;
  policy: Policy;
  domain: DomainConfig;
  jsonLimit: number;
}

/** The Metadata Definitions API under /v2/metadefs, as upstream's v2 router maps it. */
export function mountMetadefs(router: Router, deps: MetadefsDeps): void {
  const routeDeps = {
    access: new MetadefAccess(deps.metadefs, deps.policy),
    schemas: metadefSchemas(deps.domain),
    limits: { limitParamDefault: deps.domain.limitParamDefault, apiLimitMax: deps.domain.apiLimitMax },
    jsonLimit: deps.jsonLimit,
  };
  mountMetadefResourceTypes(router, routeDeps);
  mountMetadefNamespaces(router, routeDeps);
  mountMetadefProperties(router, routeDeps);
  mountMetadefObjects(router, routeDeps);
  mountMetadefTags(router, routeDeps);
}
