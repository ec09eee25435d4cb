import type { V1Secret } from '@kubernetes/client-node';
import { GlanceWorld, NAME, NS, ref, RESYNC_MS, secret, STALLED_RETRY_MS } from './world.js';

const PASSWORD = 'Rabbit-Secret-7f3a';
const URL_1 = `rabbit://openstack:${PASSWORD}@rabbitmq.mq.svc:5672/`;
const CONFIG = `${NAME}-config`;

const config = (w: GlanceWorld) => w.secretValue(CONFIG, 'glance-api.conf') ?? '';
const rolledHash = (w: GlanceWorld) =>
  w.deployment()?.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash'];

function notifying(w: GlanceWorld, extra: object = {}): Record<string, unknown> {
  return w.spec({ notifications: { transportUrlSecretRef: { name: 'mq' }, ...extra } });
}

/** Every place but the config Secret and the user's own Secret where a value could surface. */
function everywhereButTheConfig(w: GlanceWorld): string {
  const kinds = ['ConfigMap', 'Secret', 'Deployment', 'Job', 'Service', 'GlanceService'];
  const objects = kinds
    .flatMap((kind) => w.kube.all(kind))
    .filter((o) => !(o.kind === 'Secret' && (o.metadata.name === CONFIG || o.metadata.name === 'mq')));
  return JSON.stringify([objects, w.events.events]);
}

describe('GlanceService reconciler: notifications', () => {
  let w: GlanceWorld;
  beforeEach(() => {
    w = new GlanceWorld();
  });

  it('renders driver noop without a notifications block', async () => {
    w.create();
    await w.converge();
    expect(config(w)).toContain('[oslo_messaging_notifications]\ndriver = noop\n');
    expect(config(w)).not.toContain('transport_url');
  });

  it('puts the transport URL from the Secret into the config Secret only', async () => {
    w.kube.seed(secret('mq', { transport_url: URL_1 }));
    w.create(notifying(w, { disabledNotifications: ['image.send'] }));
    await w.converge();
    expect(w.condition('Ready')?.status).toBe('True');
    expect(config(w)).toContain(`transport_url = ${URL_1}\ndisabled_notifications = image.send\n`);
    expect(config(w)).toContain(
      '[oslo_messaging_notifications]\ndriver = messagingv2\ntopics = notifications\n',
    );
    expect(everywhereButTheConfig(w)).not.toContain(PASSWORD);
  });

  it('reads another key of the Secret when the spec names one', async () => {
    w.kube.seed(secret('mq', { url: URL_1 }));
    w.create(notifying(w, { transportUrlSecretRef: { name: 'mq', key: 'url' } }));
    await w.reconcile();
    expect(config(w)).toContain(`transport_url = ${URL_1}\n`);
  });

  it('is Stalled/SecretNotFound at ConfigReady while the Secret is missing, and recovers once it exists', async () => {
    w.create(notifying(w));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('ConfigReady')).toMatchObject({
      status: 'False',
      reason: 'SecretNotFound',
      message: `Secret ${NS}/mq does not exist`,
    });
    expect(w.condition('Stalled')?.reason).toBe('SecretNotFound');
    expect(w.secretValue(CONFIG, 'glance-api.conf')).toBeUndefined();
    expect(w.deployment()).toBeUndefined();

    w.kube.seed(secret('mq', { transport_url: URL_1 }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: RESYNC_MS });
    expect(w.condition('Stalled')).toBeUndefined();
    expect(config(w)).toContain(`transport_url = ${URL_1}\n`);
  });

  it('is Stalled/SecretKeyMissing when the Secret lacks the key', async () => {
    w.kube.seed(secret('mq', { url: URL_1 }));
    w.create(notifying(w));
    await w.reconcile();
    expect(w.condition('ConfigReady')).toMatchObject({
      reason: 'SecretKeyMissing',
      message: `Secret ${NS}/mq has no key "transport_url"`,
    });
  });

  it.each([
    ['an amqp:// (AMQP 1.0) URL', `amqp://openstack:${PASSWORD}@mq:5672/`, 'names transport driver "amqp"'],
    ['a URL without a host', 'rabbit://', 'names no host'],
    ['a bad port', `rabbit://openstack:${PASSWORD}@mq:56x72/`, 'has a port that is not a number'],
    ['a line break', `rabbit://openstack:${PASSWORD}@mq:5672/\n[database]`, 'contains whitespace'],
    ['no URL at all', PASSWORD, 'is not a transport URL'],
  ])(
    'is Stalled/InvalidTransportUrl for %s, keeping the running config and never echoing the password',
    async (_what, url, problem) => {
      w.create();
      await w.converge();
      const before = { config: config(w), hash: rolledHash(w) };
      w.kube.seed(secret('mq', { transport_url: url }));
      w.update(notifying(w));
      expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
      expect(w.condition('ConfigReady')).toMatchObject({ status: 'False', reason: 'InvalidTransportUrl' });
      expect(w.condition('ConfigReady')?.message).toMatch(
        new RegExp(`^key "transport_url" of Secret ${NS}/mq is not a usable transport URL: it .*${problem}`),
      );
      expect(w.condition('Stalled')?.reason).toBe('InvalidTransportUrl');
      expect(config(w)).toBe(before.config);
      expect(rolledHash(w)).toBe(before.hash);
      expect(everywhereButTheConfig(w)).not.toContain(PASSWORD);
      expect(w.events.find('InvalidTransportUrl')).toBeDefined();
    },
  );

  it("rolls the Deployment when the Secret's URL changes, and when the block comes or goes", async () => {
    w.kube.seed(secret('mq', { transport_url: URL_1 }));
    w.create(notifying(w));
    await w.converge();
    const hashes = [rolledHash(w)];

    const URL_2 = 'rabbit://openstack:Another-Password@rabbitmq-2.mq.svc:5672/';
    w.kube.edit<V1Secret>(ref('Secret', 'mq'), (s) => {
      s.data = { transport_url: Buffer.from(URL_2).toString('base64') };
    });
    await w.reconcile();
    expect(config(w)).toContain(`transport_url = ${URL_2}\n`);
    hashes.push(rolledHash(w));

    w.update(notifying(w, { topics: ['notifications', 'audit'] }));
    await w.reconcile();
    expect(config(w)).toContain('topics = notifications,audit\n');
    hashes.push(rolledHash(w));

    w.update(w.spec());
    await w.reconcile();
    expect(config(w)).toContain('[oslo_messaging_notifications]\ndriver = noop\n');
    expect(config(w)).not.toContain('transport_url');
    hashes.push(rolledHash(w));

    expect(new Set(hashes).size).toBe(4);
    expect(rolledHash(w)).toBe(w.gs()?.status?.configHash);
  });

  it('writes nothing when a reconcile finds the same URL', async () => {
    w.kube.seed(secret('mq', { transport_url: URL_1 }));
    w.create(notifying(w));
    await w.converge();
    w.clearWrites();
    await w.reconcile();
    expect(w.kube.writes).toEqual([]);
  });
});
