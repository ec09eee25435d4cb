import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import type mysql from 'mysql2/promise';
import { pino } from 'pino';
import { loadConfig, parseIni } from '../../../../api-server/src/config/index.js';
import { notifierFromConfig, notifySettings } from '../../../../api-server/src/notify/index.js';
import { parseTransportUrl } from '../../../../api-server/src/notify/transport-url.js';
import type { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import { OPERATOR_ACCESS_LABEL } from '../../../../operator/src/api/glance-service-types.js';
import { loadStackEnv } from '../../../harness/stack-env.js';
import {
  adminDb,
  applyGlanceService,
  condition,
  createAdminSecrets,
  createNamespace,
  createSecret,
  deleteNamespace,
  eventsFor,
  getGlanceService,
  installCrd,
  startOperator,
  suffix,
  testKube,
  waitFor,
  type RunningOperator,
} from '../support.js';
import { cleanUpServices, namesFor } from '../services.js';

// A GlanceService naming the stack's RabbitMQ (POD_TRANSPORT_URL, the address pods reach) through a Secret,
// reconciled by the operator against the real kube-apiserver, MariaDB and Keystone; the config it renders is read
// by our API server's own loader and notifier, which publish to the real broker with it.
const sfx = suffix();
const ns = `glance-notify-${sfx}`;
const env = loadStackEnv();
const names = namesFor('nt', 'n', sfx);
const POD_URL = env.POD_TRANSPORT_URL ?? '';
const PASSWORD = parseTransportUrl(POD_URL).hosts[0]?.password ?? '';
// A topic of this run's own: nobody else's consumer sees the probe, and its default queue is removed after.
const TOPIC = `gs-notify-${sfx}`;

function specFor(extra: object = {}) {
  return {
    image: 'glance-operator/glance-api:test',
    deletionPolicy: 'Delete',
    database: {
      host: env.DB_HOST,
      port: Number(env.DB_PORT),
      name: names.db,
      user: names.dbUser,
      adminSecretRef: { name: 'db-admin' },
    },
    keystone: {
      authUrl: env.OS_AUTH_URL,
      region: names.region,
      adminSecretRef: { name: 'keystone-admin' },
      userName: names.user,
      serviceName: names.service,
    },
    store: { backends: ['file'] },
    ...extra,
  };
}

const notifying = (secret = 'rabbitmq') =>
  specFor({
    notifications: {
      transportUrlSecretRef: { name: secret },
      topics: [TOPIC],
      disabledNotifications: ['image.send'],
    },
  });

let kube: KubeApiClient;
let db: mysql.Connection;
let operator: RunningOperator;
let dir: string;

async function configText(): Promise<string> {
  const s = await kube.read<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'gs-config' });
  const v = s?.data?.['glance-api.conf'];
  if (v === undefined) throw new Error('no rendered config yet');
  return Buffer.from(v, 'base64').toString('utf8');
}

async function rolledHash(): Promise<string | undefined> {
  const d = await kube.read<V1Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: ns,
    name: 'gs-api',
  });
  return d?.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash'];
}

/** Waits for the generation applied last to be rendered into a config whose hash differs from `before`. */
async function renderedAfter(before: string | undefined): Promise<string> {
  return waitFor('the new config to be rendered and rolled', async () => {
    const gs = await getGlanceService(kube, ns, 'gs');
    const ready = condition(gs, 'ConfigReady');
    const hash = gs?.status?.configHash;
    return ready?.status === 'True' &&
      ready.observedGeneration === gs?.metadata.generation &&
      hash !== before &&
      (await rolledHash()) === hash
      ? hash
      : undefined;
  });
}

/** The rendered file as the API server loads it at start: it must load, and its notify settings are returned. */
function loadAsApiServer(text: string) {
  const file = path.join(dir, `glance-api-${randomUUID()}.conf`);
  writeFileSync(file, text);
  loadConfig(file, {});
  return notifySettings(parseIni(text, file));
}

beforeAll(async () => {
  kube = testKube();
  db = await adminDb();
  dir = mkdtempSync(path.join(tmpdir(), 'gs-notify-'));
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  await createSecret(kube, ns, 'rabbitmq', { transport_url: POD_URL });
  operator = await startOperator(ns);
});

afterAll(async () => {
  await operator?.stop();
  if (kube) await deleteNamespace(kube, ns);
  if (db) {
    await cleanUpServices(db, names);
    await db.end();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('GlanceService notifications on the local stack', () => {
  let hash: string | undefined;

  it('renders driver noop without a notifications block, which our API server loads', async () => {
    expect(POD_URL).toMatch(/^rabbit:\/\//);
    await applyGlanceService(kube, ns, 'gs', specFor());
    hash = await renderedAfter(undefined);
    const text = await configText();
    expect(text).not.toContain('transport_url');
    expect(loadAsApiServer(text).drivers).toEqual(['noop']);
  });

  it("carries the Secret's transport URL into a config our API server loads and publishes with", async () => {
    await applyGlanceService(kube, ns, 'gs', notifying());
    hash = await renderedAfter(hash);
    const text = await configText();
    const settings = loadAsApiServer(text);
    expect(settings).toMatchObject({
      drivers: ['messagingv2'],
      topics: [TOPIC],
      exchange: 'glance',
      disabled: ['image.send'],
      transport: parseTransportUrl(POD_URL),
    });

    // The address pods reach is this host's, so the notifier built from the file reaches the broker from here too.
    const connection = await amqp.connect(POD_URL.replace(/^rabbit:/, 'amqp:'));
    const notifier = notifierFromConfig(parseIni(text), pino({ level: 'silent' }), { timeoutMs: 5000 });
    try {
      const channel = await connection.createChannel();
      await channel.assertExchange('glance', 'topic', { durable: false });
      const queue = (await channel.assertQueue('', { exclusive: true })).queue;
      await channel.bindQueue(queue, 'glance', `${TOPIC}.info`);
      const probe = randomUUID();
      const got: Array<{ event_type: string; payload: { probe?: string } }> = [];
      await channel.consume(
        queue,
        (msg) => {
          if (!msg) return;
          const envelope = JSON.parse(msg.content.toString()) as { 'oslo.message': string };
          got.push(JSON.parse(envelope['oslo.message']) as (typeof got)[number]);
        },
        { noAck: true },
      );
      expect(notifier.enabled('image.send')).toBe(false);
      notifier.notify('image.create', { probe });
      await waitFor('the notification on the broker', async () => got.some((m) => m.payload.probe === probe));
      expect(got.find((m) => m.payload.probe === probe)?.event_type).toBe('image.create');
    } finally {
      await notifier.close(3000);
      // The notifier declared the topic's default queue, as oslo.messaging does.
      const cleanup = await connection.createChannel();
      await cleanup.deleteQueue(`${TOPIC}.info`).catch(() => undefined);
      await connection.close();
    }
  });

  it('keeps the transport URL out of status, Events, ConfigMaps and logs', async () => {
    expect(PASSWORD.length).toBeGreaterThan(3);
    const gs = await getGlanceService(kube, ns, 'gs');
    const configMaps = (await kube.core.listNamespacedConfigMap({ namespace: ns })).items;
    const leaks = JSON.stringify([gs?.status, await eventsFor(kube, ns, 'gs'), configMaps]);
    expect(leaks).not.toContain(PASSWORD);
    expect(operator.logs()).not.toContain(PASSWORD);
    expect(await configText()).toContain(`transport_url = ${POD_URL}\n`);
  });

  it("rolls the Deployment when the Secret's value changes", async () => {
    // The same broker and vhost ("/" percent-encoded), so a different file that still works.
    const changed = POD_URL.replace(/\/?$/, '/%2F');
    await kube.core.replaceNamespacedSecret({
      name: 'rabbitmq',
      namespace: ns,
      body: {
        metadata: { name: 'rabbitmq', labels: { [OPERATOR_ACCESS_LABEL]: 'true' } },
        data: { transport_url: Buffer.from(changed).toString('base64') },
      },
    });
    hash = await renderedAfter(hash);
    expect(await configText()).toContain(`transport_url = ${changed}\n`);
  });

  it('is Stalled/InvalidTransportUrl for an amqp:// URL, keeping the running config', async () => {
    await createSecret(kube, ns, 'rabbitmq-amqp', { transport_url: POD_URL.replace(/^rabbit:/, 'amqp:') });
    const running = await configText();
    await applyGlanceService(kube, ns, 'gs', notifying('rabbitmq-amqp'));
    const gs = await waitFor('Stalled', async () => {
      const gs = await getGlanceService(kube, ns, 'gs');
      return condition(gs, 'Stalled')?.observedGeneration === gs?.metadata.generation ? gs : undefined;
    });
    expect(condition(gs, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidTransportUrl' });
    expect(condition(gs, 'ConfigReady')).toMatchObject({ status: 'False', reason: 'InvalidTransportUrl' });
    expect(condition(gs, 'ConfigReady')?.message).toBe(
      `key "transport_url" of Secret ${ns}/rabbitmq-amqp is not a usable transport URL: it names transport ` +
        'driver "amqp"; only rabbit:// (RabbitMQ) is supported',
    );
    expect(JSON.stringify([gs.status, await eventsFor(kube, ns, 'gs')])).not.toContain(PASSWORD);
    expect(await configText()).toBe(running);
    expect(await rolledHash()).toBe(hash);
  });

  it('turns notifications off (noop) when the block goes', async () => {
    await applyGlanceService(kube, ns, 'gs', specFor());
    hash = await renderedAfter(hash);
    const text = await configText();
    expect(text).not.toContain('transport_url');
    expect(loadAsApiServer(text).drivers).toEqual(['noop']);
  });
});
