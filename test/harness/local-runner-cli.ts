import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { z } from 'zod';
import { startLocalRunner } from './local-runner.js';
import { loadStackEnv } from './stack-env.js';

const USAGE = `usage: local-runner-cli.js [--namespace NS] [--service NS/NAME=PORT]... [--state-dir DIR] [--node-name NAME]

Runs the pods of the operator's Jobs and Deployments as local processes (see local-runner.ts) until SIGINT or
SIGTERM. KUBECONFIG, or else the stack's (/var/lib/glance-stack/stack.env), says which API server.
`;

const name = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
const args = z.object({
  namespace: name.optional(),
  service: z
    .array(
      z.string().regex(/^[a-z0-9][-a-z0-9]*\/[a-z0-9][-a-z0-9]*=\d{1,5}$/, 'must be NAMESPACE/NAME=PORT'),
    )
    .default([]),
  'state-dir': z.string().min(1).optional(),
  'node-name': name.optional(),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string' },
      service: { type: 'string', multiple: true },
      'state-dir': { type: 'string' },
      'node-name': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const parsed = args.safeParse(values);
  if (!parsed.success) {
    process.stderr.write(
      `${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n')}\n${USAGE}`,
    );
    process.exit(2);
  }
  const opts = parsed.data;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(process.env.KUBECONFIG ?? loadStackEnv().KUBECONFIG ?? '');
  const log = pino({ base: { component: 'local-runner' } });
  const runner = await startLocalRunner({
    kubeConfig,
    log,
    namespace: opts.namespace,
    stateDir: opts['state-dir'],
    nodeName: opts['node-name'],
    services: Object.fromEntries(
      opts.service.map((s) => {
        const [key = '', port = ''] = s.split('=');
        return [key, Number(port)];
      }),
    ),
  });
  const stop = () => {
    void runner.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`local-runner: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
