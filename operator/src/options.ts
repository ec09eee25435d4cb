import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { urlPolicyEnv } from './net/url-policy.js';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const seconds = z.coerce.number().positive();

const envSchema = z
  .object({
    WATCH_NAMESPACE: z.string().optional().describe('Reconcile GlanceServices in this namespace only.'),
    POD_NAMESPACE: z.string().optional().describe('Where the leader Lease lives.'),
    LEADER_ELECT: flag.default(true),
    LEASE_NAME: z.string().default('glance-operator-leader'),
    HEALTH_ADDRESS: z.string().default('0.0.0.0'),
    HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
    RESYNC_SECONDS: seconds.default(300),
    STALLED_RETRY_SECONDS: seconds.default(60),
    DELETION_TIMEOUT_SECONDS: seconds
      .default(600)
      .describe(
        'How long a deleted object retries its cleanup before it leaves what is left, with a Warning.',
      ),
    WORKERS: z.coerce.number().int().min(1).max(32).default(2),
    IMAGE_TRANSFERS: z.coerce.number().int().min(1).max(64).default(2).describe('Image transfers at once.'),
    IMAGE_PROGRESS_SECONDS: seconds.default(5).describe('How often an Image status shows transfer progress.'),
    SHUTDOWN_TIMEOUT_SECONDS: seconds.default(30),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .extend(urlPolicyEnv.shape);

export type OperatorOptions = z.output<typeof envSchema> & { leaseNamespace: string; identity: string };

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The operator's settings, from its environment; throws a message naming each bad variable. */
export function loadOptions(env: NodeJS.ProcessEnv): OperatorOptions {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const o = parsed.data;
  return {
    ...o,
    leaseNamespace: o.POD_NAMESPACE ?? inClusterNamespace() ?? o.WATCH_NAMESPACE ?? 'default',
    identity: `${hostname()}_${process.pid}`,
  };
}
