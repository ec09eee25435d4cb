import type { KubernetesObject, V1Deployment, V1Job, V1Secret } from '@kubernetes/client-node';
import pino from 'pino';
import {
  API_VERSION,
  GLANCE_SERVICE,
  GLANCE_SERVICE_KIND,
  OPERATOR_ACCESS_LABEL,
  type GlanceService,
} from '../../../../operator/src/api/glance-service-types.js';
import type { Condition } from '../../../../operator/src/runtime/conditions.js';
import type { ReconcileResult } from '../../../../operator/src/runtime/controller.js';
import type { ObjectRef } from '../../../../operator/src/runtime/kube-client.js';
import { GlanceServiceReconciler } from '../../../../operator/src/glance-service/reconciler.js';
import { UrlPolicy, urlPolicyEnv } from '../../../../operator/src/net/url-policy.js';
import { FakeCeph } from '../../../fakes/ceph.js';
import { FakeEventRecorder } from '../../../fakes/event-recorder.js';
import { FakeKeystone } from '../../../fakes/keystone.js';
import { FakeKubeClient } from '../../../fakes/kube-client.js';
import { FakeMariaDb } from '../../../fakes/mariadb.js';

export const NS = 'openstack';
export const NAME = 'images';
export const RESYNC_MS = 600_000;
export const STALLED_RETRY_MS = 300_000;
export const DELETION_TIMEOUT_MS = 1_800_000;

/** What host names resolve to for the URL policy: a documentation address unless named here. */
export const RESOLVES: Record<string, string> = { 'metadata.test': '169.254.169.254' };

const log = pino({ level: 'silent' });

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Removes from `stored` what `before` set and `now` no longer does. */
function prune(
  stored: Record<string, unknown>,
  before: Record<string, unknown>,
  now: Record<string, unknown>,
) {
  for (const [key, value] of Object.entries(before)) {
    if (!(key in now)) delete stored[key];
    else if (isObject(value) && isObject(now[key]) && isObject(stored[key])) {
      prune(stored[key], value, now[key]);
    }
  }
}

/**
 * The fake API server, plus the part of server-side apply the operator relies on: a field its manager applied
 * before and leaves out now is removed (that is how the Deployment comes out of `paused`).
 */
class ApplyingKubeClient extends FakeKubeClient {
  private readonly applied = new Map<string, Record<string, unknown>>();

  override async apply<T extends KubernetesObject>(obj: T) {
    const stored = await super.apply(obj);
    const key = `${obj.apiVersion}|${obj.kind}|${obj.metadata?.namespace}|${obj.metadata?.name}`;
    const before = this.applied.get(key);
    this.applied.set(key, structuredClone(obj) as Record<string, unknown>);
    if (!before) return stored;
    const { metadata: _m, ...beforeBody } = before;
    const { metadata: _n, ...nowBody } = obj as unknown as Record<string, unknown>;
    const pruned = structuredClone(stored) as unknown as Record<string, unknown>;
    prune(pruned, beforeBody, nowBody);
    if (JSON.stringify(pruned) === JSON.stringify(stored)) return stored;
    const ref = {
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      namespace: obj.metadata?.namespace ?? '',
      name: obj.metadata?.name ?? '',
    };
    return this.edit<T>(ref, (o) => {
      for (const k of Object.keys(o))
        if (k !== 'metadata') delete (o as unknown as Record<string, unknown>)[k];
      Object.assign(o, { ...pruned, metadata: o.metadata });
    });
  }
}

/** A Secret the operator may read (it carries the access label), unless `labelled` is false. */
export function secret(name: string, data: Record<string, string>, labelled = true): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS, ...(labelled ? { labels: { [OPERATOR_ACCESS_LABEL]: 'true' } } : {}) },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export const ref = (kind: string, name: string, apiVersion = 'v1'): ObjectRef => ({
  apiVersion,
  kind,
  namespace: NS,
  name,
});
export const imageRef = (name: string): ObjectRef => ({
  apiVersion: 'glance.stackops.dev/v1alpha1',
  kind: 'Image',
  namespace: NS,
  name,
});
export const deploymentRef = ref('Deployment', `${NAME}-api`, 'apps/v1');

/**
 * One GlanceService's world: a fake API server holding the admin Secrets, and fake MariaDB, Keystone and Ceph
 * that accept them, with the reconciler wired to all of them as the controller wires the real ones.
 */
export class GlanceWorld {
  readonly kube: FakeKubeClient = new ApplyingKubeClient();
  readonly events = new FakeEventRecorder();
  readonly db = new FakeMariaDb();
  readonly keystone = new FakeKeystone();
  readonly ceph = new FakeCeph();
  readonly reconciler = new GlanceServiceReconciler({
    kube: this.kube,
    events: this.events,
    connect: {
      database: (target) => this.db.connect(target),
      keystone: (authUrl, admin) => this.keystone.connect(authUrl, admin),
      ceph: (target) => this.ceph.connect(target),
    },
    resyncMs: RESYNC_MS,
    stalledRetryMs: STALLED_RETRY_MS,
    deletionTimeoutMs: DELETION_TIMEOUT_MS,
    urlPolicy: new UrlPolicy(urlPolicyEnv.parse({}), [], async (host) => [
      { address: RESOLVES[host] ?? '192.0.2.20', family: 4 },
    ]),
  });

  constructor() {
    this.kube.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      secret('db-admin', { username: this.db.admin.user, password: this.db.admin.password }),
      secret('keystone-admin', {
        username: this.keystone.admin.username,
        password: this.keystone.admin.password,
      }),
      secret('ceph-admin', { keyring: this.ceph.adminKeyring() }),
    );
  }

  /** A spec with every system: rbd and file stores, deletionPolicy Delete. */
  spec(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      image: 'glance-api:1',
      deletionPolicy: 'Delete',
      database: { host: this.db.host, port: this.db.port, adminSecretRef: { name: 'db-admin' } },
      keystone: { authUrl: this.keystone.authUrl, adminSecretRef: { name: 'keystone-admin' } },
      ceph: { monHost: this.ceph.monHost, adminSecretRef: { name: 'ceph-admin' } },
      store: { backends: ['rbd', 'file'] },
      ...extra,
    };
  }

  /** The GlanceService as `kubectl apply` would create it. */
  create(spec: Record<string, unknown> = this.spec(), name = NAME): void {
    const gs: KubernetesObject = {
      apiVersion: API_VERSION,
      kind: GLANCE_SERVICE_KIND,
      metadata: { name, namespace: NS },
    };
    this.kube.seed({ ...gs, spec } as KubernetesObject);
  }

  /** A new spec, as `kubectl apply` of a changed manifest. */
  update(spec: Record<string, unknown>, name = NAME): void {
    this.kube.edit(this.gsRef(name), (gs) => Object.assign(gs, { spec }));
  }

  /** `kubectl delete`: with the finalizer in place, only marks the object deleted. */
  async delete(name = NAME): Promise<void> {
    await this.kube.delete(this.gsRef(name));
  }

  /** An Image in the namespace whose spec names the GlanceService `glanceService`. */
  image(name: string, glanceService: string): void {
    this.kube.seed({
      ...imageRef(name),
      metadata: { name, namespace: NS },
      spec: { glanceServiceRef: { name: glanceService }, source: { url: 'http://images.test/x.img' } },
    });
  }

  /** `kubectl delete namespace`: the namespace controller has marked it. */
  namespaceGoing(): void {
    this.kube.edit({ apiVersion: 'v1', kind: 'Namespace', namespace: '', name: NS }, (ns) => {
      ns.metadata.deletionTimestamp = new Date();
    });
  }

  /** Moves the GlanceService's deletionTimestamp back past the deletion timeout. */
  pastDeletionDeadline(name = NAME): void {
    this.kube.edit(this.gsRef(name), (gs) => {
      gs.metadata.deletionTimestamp = new Date(Date.now() - DELETION_TIMEOUT_MS - 1000);
    });
  }

  reconcile(name = NAME): Promise<ReconcileResult> {
    return this.reconciler.reconcile({ namespace: NS, name }, log);
  }

  gs(name = NAME): GlanceService | undefined {
    return this.kube.getCustomObject<GlanceService>(GLANCE_SERVICE, NS, name);
  }

  condition(type: string, name = NAME): Condition | undefined {
    return (this.gs(name)?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
  }

  /** Every condition as [type, status, reason], in the order the status lists them. */
  conditions(name = NAME): Array<[string, string, string]> {
    const all = (this.gs(name)?.status?.conditions ?? []) as Condition[];
    return all.map((c) => [c.type, c.status, c.reason]);
  }

  secretValue(name: string, key: string): string | undefined {
    const data = this.kube.get<V1Secret>(ref('Secret', name))?.data?.[key];
    return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
  }

  deployment(): V1Deployment | undefined {
    return this.kube.get<V1Deployment>(deploymentRef);
  }

  jobs(): V1Job[] {
    return this.kube.all('Job') as V1Job[];
  }

  /** What the Job controller does when db-sync exits 0. */
  finishMigration(outcome: 'Complete' | 'Failed' = 'Complete'): void {
    for (const job of this.jobs()) {
      this.kube.edit<V1Job>(ref('Job', job.metadata?.name ?? '', 'batch/v1'), (j) => {
        j.status = {
          ...(outcome === 'Complete' ? { succeeded: 1 } : { failed: 5 }),
          conditions: [{ type: outcome, status: 'True' }],
        };
      });
    }
  }

  /** What the Deployment controller and kubelet report once `ready` pods of the current template run. */
  rollOut(ready = this.deployment()?.spec?.replicas ?? 1): void {
    this.kube.edit<V1Deployment>(deploymentRef, (d) => {
      d.status = {
        observedGeneration: d.metadata.generation,
        replicas: ready,
        updatedReplicas: ready,
        readyReplicas: ready,
        availableReplicas: ready,
      };
    });
  }

  /** Changes in MariaDB, Keystone and Ceph since the last clearWrites. */
  externalWrites(): string[] {
    return [...this.db.writes, ...this.keystone.writes, ...this.ceph.writes];
  }

  clearWrites(): void {
    this.kube.clearWrites();
    this.events.clear();
    for (const system of [this.db, this.keystone, this.ceph]) system.writes.length = 0;
  }

  /** Reconciles until the Deployment is available: a converged GlanceService. */
  async converge(): Promise<void> {
    await this.reconcile();
    this.finishMigration();
    await this.reconcile();
    this.rollOut();
    await this.reconcile();
  }

  private gsRef(name: string): ObjectRef {
    return { apiVersion: API_VERSION, kind: GLANCE_SERVICE_KIND, namespace: NS, name };
  }
}
