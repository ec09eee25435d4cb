import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import pino from 'pino';
import { z } from 'zod';
import { GLANCE_SERVICE } from '../../operator/src/api/glance-service-types.js';
import { IMAGE } from '../../operator/src/api/image-types.js';
import { demoGlanceService, demoImage, monHost, parseSample, type DemoSettings } from './demo/manifests.js';
import { makeQcow2, serveFile, sha256Of } from './demo/image-server.js';
import { removeAll, waitReady, waitServed } from './demo/wait-ready.js';
import { findRepoRoot, startLocalRunner } from './local-runner.js';
import { loadStackEnv, STACK_ENV_PATH } from './stack-env.js';

// `npm run demo` (scripts/demo.sh brings the stack up and builds first): the operator as a process, the local
// runner standing in for the kubelet, samples/glanceservice.yaml and samples/image.yaml made to run here.
const USAGE = `usage: demo.js [--namespace NS] [--api-port PORT] [--keep-running]
  --keep-running   leave the operator and the API running until Ctrl-C, to try the openstack CLI against it
  (either way, the demo's Image and GlanceService are deleted through the operator when it ends)
`;

const stackSchema = z.object({
  STACK_DIR: z.string().min(1),
  KUBECONFIG: z.string().min(1),
  DB_HOST: z.string().min(1),
  DB_PORT: z.coerce.number().int().positive(),
  DB_ADMIN_USER: z.string().min(1),
  DB_ADMIN_PASSWORD: z.string().min(1),
  OS_AUTH_URL: z.string().url(),
  OS_USERNAME: z.string().min(1),
  OS_PASSWORD: z.string().min(1),
  CEPH_CONF: z.string().min(1),
  CEPH_ADMIN_KEYRING: z.string().min(1),
});
const argsSchema = z.object({
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .default('glance-demo'),
  'api-port': z.coerce.number().int().min(1024).max(65535).default(9595),
  'keep-running': z.boolean().default(false),
});

const say = (line: string) => process.stdout.write(`[demo] ${line}\n`);
const REPO = findRepoRoot();
const FIELD_MANAGER = 'glance-demo';

async function apply(objects: KubernetesObjectApi, obj: KubernetesObject): Promise<void> {
  await objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/** Runs a command with its output passed through, for the two listings the demo ends with. */
function show(title: string, file: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  process.stdout.write(`\n$ ${title}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${title} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string' },
      'api-port': { type: 'string' },
      'keep-running': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const parsedArgs = argsSchema.safeParse(values);
  if (!parsedArgs.success)
    throw new Error(`${parsedArgs.error.issues.map((i) => i.message).join('; ')}\n${USAGE}`);
  const opts = parsedArgs.data;
  const stackParsed = stackSchema.safeParse(loadStackEnv());
  if (!stackParsed.success) {
    throw new Error(
      `${STACK_ENV_PATH} lacks ${stackParsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  }
  const stack = stackParsed.data;
  const ns = opts.namespace;
  const kubectl = process.env.KUBECTL ?? 'kubectl';
  const logDir = path.join(stack.STACK_DIR, 'log', 'demo');
  mkdirSync(logDir, { recursive: true });

  const kc = new KubeConfig();
  kc.loadFromFile(stack.KUBECONFIG);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);

  say('applying the CRDs of crds/');
  for (const file of readdirSync(path.join(REPO, 'crds')).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of parseSample(readFileSync(path.join(REPO, 'crds', file), 'utf8')))
      await apply(objects, crd);
  }
  for (const type of [GLANCE_SERVICE, IMAGE]) await waitServed(custom, type, 60_000);
  await apply(objects, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

  const work = await mkdtemp(path.join(tmpdir(), 'glance-demo-'));
  const qcow2 = await makeQcow2(work);
  const server = await serveFile(qcow2);
  say(`serving a qcow2 made by qemu-img at ${server.url}`);

  const apiUrl = `http://127.0.0.1:${opts['api-port']}`;
  const settings: DemoSettings = {
    namespace: ns,
    apiUrl,
    region: 'RegionDemo',
    db: {
      host: stack.DB_HOST,
      port: stack.DB_PORT,
      adminUser: stack.DB_ADMIN_USER,
      adminPassword: stack.DB_ADMIN_PASSWORD,
    },
    keystone: { authUrl: stack.OS_AUTH_URL, adminUser: stack.OS_USERNAME, adminPassword: stack.OS_PASSWORD },
    ceph: { monHost: monHost(stack.CEPH_CONF), adminKeyring: readFileSync(stack.CEPH_ADMIN_KEYRING, 'utf8') },
    image: { url: server.url, checksum: `sha256:${await sha256Of(qcow2)}` },
  };

  const operatorLog = path.join(logDir, 'operator.log');
  say(`starting the operator (log: ${operatorLog})`);
  const operator: ChildProcess = spawn(process.execPath, [path.join(REPO, 'dist/operator/src/main.js')], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: stack.KUBECONFIG,
      WATCH_NAMESPACE: ns,
      LEADER_ELECT: 'false',
      HEALTH_ADDRESS: '127.0.0.1',
      HEALTH_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const opOut = createWriteStream(operatorLog, { flags: 'a' });
  operator.stdout?.pipe(opOut);
  operator.stderr?.pipe(opOut);
  const operatorExit = new Promise<never>((_, reject) =>
    operator.once('exit', (code) => reject(new Error(`the operator exited (${code}); see ${operatorLog}`))),
  );

  const runnerLog = path.join(logDir, 'local-runner.log');
  say(`starting the local runner, the kubelet stand-in (log: ${runnerLog})`);
  const runner = await startLocalRunner({
    kubeConfig: kc,
    namespace: ns,
    stateDir: path.join(stack.STACK_DIR, 'demo', 'runner'),
    services: { [`${ns}/glance-api`]: opts['api-port'] },
    log: pino({ base: { component: 'local-runner' } }, pino.destination({ dest: runnerLog, sync: false })),
  });

  const stop = async () => {
    await runner.stop();
    operator.kill('SIGTERM');
    await server.close();
    await rm(work, { recursive: true, force: true });
  };
  try {
    // Each run starts clean, through the operator (Image first, while its Glance still serves), so that every
    // Ready below is this run's. deletionPolicy Retain keeps the database and pool for the next run.
    await removeAll(custom, IMAGE, ns, say, 300_000);
    await removeAll(custom, GLANCE_SERVICE, ns, say, 300_000);
    say(
      'applying samples/glanceservice.yaml (made for this stack: region RegionDemo, its own database and pool)',
    );
    const gsObjects = demoGlanceService(
      parseSample(readFileSync(path.join(REPO, 'samples/glanceservice.yaml'), 'utf8')),
      settings,
    );
    for (const obj of gsObjects) await apply(objects, obj);
    const gsName = gsObjects.find((o) => o.kind === 'GlanceService')?.metadata.name ?? 'glance';
    await Promise.race([waitReady(custom, GLANCE_SERVICE, ns, gsName, say, 600_000), operatorExit]);

    say('applying samples/image.yaml (its source moved to the local server, with the sha256 of the file)');
    const imageObjects = demoImage(
      parseSample(readFileSync(path.join(REPO, 'samples/image.yaml'), 'utf8')),
      settings,
    );
    for (const obj of imageObjects) await apply(objects, obj);
    const imageName = imageObjects.find((o) => o.kind === 'Image')?.metadata.name ?? 'cirros';
    await Promise.race([waitReady(custom, IMAGE, ns, imageName, say, 600_000), operatorExit]);

    const env = {
      ...process.env,
      PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`,
      KUBECONFIG: stack.KUBECONFIG,
      ...Object.fromEntries(Object.entries(loadStackEnv()).filter(([k]) => k.startsWith('OS_'))),
      OS_REGION_NAME: settings.region,
      OS_INTERFACE: 'public',
    };
    await show(
      `kubectl get glanceservices,images -n ${ns}`,
      kubectl,
      ['get', 'glanceservices,images', '-n', ns],
      env,
    );
    await show(
      `openstack --os-region-name ${settings.region} image list`,
      'openstack',
      ['image', 'list'],
      env,
    );
    if (opts['keep-running']) {
      say(`running until Ctrl-C; try: openstack --os-region-name ${settings.region} image list --long`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    // What the demo made goes again through the operator, so that Keystone is left with the stack's own image
    // service only: Tempest, for one, takes the first service of type image it finds in the catalog.
    say('removing the demo Image and GlanceService');
    try {
      await removeAll(custom, IMAGE, ns, say, 300_000);
      await removeAll(custom, GLANCE_SERVICE, ns, say, 300_000);
    } catch (err) {
      say(`cleanup incomplete: ${err instanceof Error ? err.message : String(err)}`);
    }
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
