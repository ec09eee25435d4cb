import type { V1Secret } from '@kubernetes/client-node';
import { TerminalError } from '../runtime/errors.js';
import type { Passwords, ReconcileContext, StepCondition } from './context.js';
import { secretsOf } from './credentials.js';
import { labels, objectNames, ownerReference } from './names.js';
import { applyOwned, hashOf } from './owned.js';
import { CONFIG_FILE, glanceApiConfig, renderIni } from './render-config.js';
import { transportUrlProblem } from './transport-url.js';

/**
 * The transport URL spec.notifications names, read from its Secret and checked; undefined without notifications.
 * A missing Secret or key, or a URL the API server could not use, is for a person to fix.
 */
async function readTransportUrl(ctx: ReconcileContext): Promise<string | undefined> {
  const ref = ctx.spec.notifications?.transportUrlSecretRef;
  if (!ref) return undefined;
  const { namespace } = ctx.gs.metadata;
  const url = await secretsOf(ctx.kube, ctx.gs).value(namespace, ref.name, ref.key);
  const problem = transportUrlProblem(url);
  if (problem) {
    throw new TerminalError(
      'InvalidTransportUrl',
      `key "${ref.key}" of Secret ${namespace}/${ref.name} is not a usable transport URL: it ${problem}`,
    );
  }
  return url;
}

/**
 * Step 4: glance-api.conf into the config Secret. The hash covers the file (so its passwords and transport URL)
 * and the Ceph client files the pods mount, so that a change of either rolls the Deployment; it goes into the
 * status.
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
      transportUrl: await readTransportUrl(ctx),
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
