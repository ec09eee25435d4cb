import type { V1Secret } from '@kubernetes/client-node';
import type { Passwords, ReconcileContext, StepCondition } from './context.js';
import { labels, objectNames, ownerReference } from './names.js';
import { applyOwned, hashOf } from './owned.js';
import { CONFIG_FILE, glanceApiConfig, renderIni } from './render-config.js';

/**
 * Step 4: glance-api.conf into the config Secret. The hash covers the file and the Ceph client files the
 * pods mount, so that a change of either rolls the Deployment; it goes into the status.
 */
export async function reconcileConfig(
  ctx: ReconcileContext,
  passwords: Passwords,
  cephClientFiles: Record<string, string> | undefined,
): Promise<StepCondition & { configHash: string }> {
  const { gs } = ctx;
  const text = renderIni(
    glanceApiConfig({
      spec: ctx.spec,
      databasePassword: passwords.database,
      keystonePassword: passwords.keystone,
    }),
  );
  const name = objectNames(gs.metadata.name).config;
  await applyOwned<V1Secret>(ctx, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: gs.metadata.namespace,
      labels: labels(gs.metadata.name, 'config'),
      ownerReferences: [ownerReference(gs)],
    },
    type: 'Opaque',
    data: { [CONFIG_FILE]: Buffer.from(text).toString('base64') },
  });
  const configHash = hashOf([text, cephClientFiles ?? null]).slice(0, 32);
  ctx.status.configHash = configHash;
  return { status: 'True', reason: 'Rendered', message: `${CONFIG_FILE} in Secret ${name}`, configHash };
}
