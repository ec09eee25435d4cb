import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
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
import { z } from 'zod';
import { GLANCE_SERVICE } from '../../operator/src/api/glance-service-types.js';
import { IMAGE } from '../../operator/src/api/image-types.js';
import { API_PORT, objectNames, selectorLabels } from '../../operator/src/glance-service/names.js';
import { demoGlanceService, demoImage, monHost, parseSample, type DemoSettings } from './demo/manifests.js';
import { makeQcow2, serveFile, sha256Of } from './demo/image-server.js';
import { removeAll, waitReady, waitServed } from './demo/wait-ready.js';
import { installOperatorChart, uninstallOperatorChart, type ChartRelease } from './operator-chart.js';
import { findRepoRoot } from './paths.js';
import { loadStackEnv, STACK_ENV_PATH } from './stack-env.js';

// `npm run demo` (scripts/demo.sh brings the stack up, its one-node cluster and our image included): the operator
// installed by its Helm chart as pods of the cluster, samples/glanceservice.yaml and samples/image.yaml made to run
// here, the migration Job and the API Deployment run by the kubelet, the API reached through a NodePort.
const USAGE = `usage: demo.js [--namespace NS] [--node-port PORT] [--keep-running]
  --keep-running   leave the operator and the API running until Ctrl-C, to try the openstack CLI against it
  (either way, the demo's Image and GlanceService are deleted through the operator when it ends)
`;

const stackSchema = z.object({
  STACK_DIR: z.string().min(1),
  KUBECONFIG: z.string().min(1),
  KUBECTL: z.string().min(1),
  CRICTL: z.string().min(1),
  CRICTL_CONFIG: z.string().min(1),
  GLANCE_IMAGE: z.string().min(1),
  POD_HOST_IP: z.string().min(1),
  POD_CIDR: z.string().min(1),
  SERVICE_CIDR: z.string().min(1),
  NODE_IP: z.string().min(1),
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
  'node-port': z.coerce.number().int().min(30000).max(32767).default(30292),
  'keep-running': z.boolean().default(false),
});

const say = (line: string) => process.stdout.write(`[demo] ${line}\n`);
const REPO = findRepoRoot();
const FIELD_MANAGER = 'glance-demo';
const OPERATOR_NAMESPACE = 'glance-operator';

async function apply(objects: KubernetesObjectApi, obj: KubernetesObject): Promise<void> {
  await objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/** Runs a command with its output passed through, for the listings the demo ends with. */
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
      'node-port': { type: 'string' },
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
  const kubectl = stack.KUBECTL;

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
  // The operator pod fetches it: it listens where the pods reach this machine.
  const server = await serveFile(qcow2, stack.POD_HOST_IP);
  say(`serving a qcow2 made by qemu-img at ${server.url}`);

  // The operator refuses the cluster's ranges and this machine's address (the kube-apiserver's): the demo's
  // source and Keystone, on that address, are allowed by their ports alone.
  const sourcePort = new URL(server.url).port;
  const keystonePort = new URL(stack.OS_AUTH_URL).port || '80';
  const release: ChartRelease = {
    kubeconfig: stack.KUBECONFIG,
    namespace: OPERATOR_NAMESPACE,
    release: 'glance-operator',
    image: stack.GLANCE_IMAGE,
    replicas: 2,
    urlPolicy: {
      deny: [stack.POD_CIDR, stack.SERVICE_CIDR, stack.POD_HOST_IP],
      allow: [`${stack.POD_HOST_IP}:${sourcePort}`, `${stack.POD_HOST_IP}:${keystonePort}`],
    },
  };
  say(
    `helm install of charts/glance-operator into ${OPERATOR_NAMESPACE} (image ${stack.GLANCE_IMAGE}, 2 replicas, ` +
      `sources allowed from ${stack.POD_HOST_IP}:${sourcePort} and Keystone at ${stack.POD_HOST_IP}:${keystonePort} ` +
      "only among the cluster's addresses)",
  );
  await installOperatorChart(release);

  // Pods reach MariaDB, Keystone and Ceph at this machine's address on the node's network.
  const fromPods = (value: string) => value.replaceAll('127.0.0.1', stack.POD_HOST_IP);
  const apiUrl = `http://${stack.NODE_IP}:${opts['node-port']}`;
  const settings: DemoSettings = {
    namespace: ns,
    apiUrl,
    containerImage: stack.GLANCE_IMAGE,
    region: 'RegionDemo',
    db: {
      host: fromPods(stack.DB_HOST),
      port: stack.DB_PORT,
      adminUser: stack.DB_ADMIN_USER,
      adminPassword: stack.DB_ADMIN_PASSWORD,
    },
    keystone: {
      authUrl: fromPods(stack.OS_AUTH_URL),
      adminUser: stack.OS_USERNAME,
      adminPassword: stack.OS_PASSWORD,
    },
    ceph: { monHost: monHost(stack.CEPH_CONF), adminKeyring: readFileSync(stack.CEPH_ADMIN_KEYRING, 'utf8') },
    image: { url: server.url, checksum: `sha256:${await sha256Of(qcow2)}` },
  };

  const stop = async () => {
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
    // Users of this machine reach the API Service through a NodePort on the node's address.
    await apply(objects, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${objectNames(gsName).api}-nodeport`, namespace: ns },
      spec: {
        type: 'NodePort',
        selector: selectorLabels(gsName, 'api'),
        ports: [{ name: 'api', port: API_PORT, targetPort: 'api', nodePort: opts['node-port'] }],
      },
    } as KubernetesObject);
    await waitReady(custom, GLANCE_SERVICE, ns, gsName, say, 600_000);

    say('applying samples/image.yaml (its source moved to the local server, with the sha256 of the file)');
    const imageObjects = demoImage(
      parseSample(readFileSync(path.join(REPO, 'samples/image.yaml'), 'utf8')),
      settings,
    );
    for (const obj of imageObjects) await apply(objects, obj);
    const imageName = imageObjects.find((o) => o.kind === 'Image')?.metadata.name ?? 'cirros';
    await waitReady(custom, IMAGE, ns, imageName, say, 600_000);

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
    await show(`kubectl get pods -A -o wide`, kubectl, ['get', 'pods', '-A', '-o', 'wide'], env);
    await show(`crictl ps`, stack.CRICTL, ['--config', stack.CRICTL_CONFIG, 'ps'], env);
    await show(
      `openstack --os-region-name ${settings.region} image create cirros-cli --file … --public`,
      'openstack',
      [
        'image',
        'create',
        'cirros-cli',
        '--file',
        qcow2,
        '--disk-format',
        'qcow2',
        '--container-format',
        'bare',
        '--public',
        '-c',
        'id',
        '-c',
        'status',
        '-c',
        'visibility',
      ],
      env,
    );
    await show(
      `openstack --os-region-name ${settings.region} image list`,
      'openstack',
      ['image', 'list'],
      env,
    );
    await show(
      `openstack --os-region-name ${settings.region} image delete cirros-cli`,
      'openstack',
      ['image', 'delete', 'cirros-cli'],
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
      // A cluster-wide operator left running would also reconcile the test suite's objects.
      say('helm uninstall of the operator');
      await uninstallOperatorChart(release);
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
