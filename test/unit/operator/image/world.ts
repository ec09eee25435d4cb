import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import pino from 'pino';
import { OPERATOR_ACCESS_LABEL } from '../../../../operator/src/api/glance-service-types.js';
import { IMAGE, type ImageObject, type ImageStatus } from '../../../../operator/src/api/image-types.js';
import type { Condition } from '../../../../operator/src/runtime/conditions.js';
import type { ReconcileResult } from '../../../../operator/src/runtime/controller.js';
import { createOperatorMetrics } from '../../../../operator/src/runtime/operator-metrics.js';
import { ChecksumMismatchError } from '../../../../operator/src/image/checksum.js';
import { ImageReconciler } from '../../../../operator/src/image/reconciler.js';
import { UrlPolicy, urlPolicyEnv } from '../../../../operator/src/net/url-policy.js';
import type { GlanceConnector, GlanceTarget } from '../../../../operator/src/image/target.js';
import type { TransferPlan, TransferRunner } from '../../../../operator/src/image/transfer-pipeline.js';
import { TransferManager } from '../../../../operator/src/image/transfer-manager.js';
import { FakeEventRecorder } from '../../../fakes/event-recorder.js';
import { FakeGlance } from '../../../fakes/glance-images.js';
import { FakeKubeClient } from '../../../fakes/kube-client.js';

/** What the test's source host names resolve to: a documentation address unless named here. */
export const RESOLVES: Record<string, string> = { 'metadata.test': '169.254.169.254' };

export const NS = 'ns';
export const NAME = 'cirros';
export const TIMINGS = {
  resyncMs: 600_000,
  stalledRetryMs: 300_000,
  deletionTimeoutMs: 1_800_000,
  progressMs: 5_000,
  retryBaseMs: 5_000,
};
export const IMAGE_REF = {
  apiVersion: 'glance.stackops.dev/v1alpha1',
  kind: 'Image',
  namespace: NS,
  name: NAME,
};

/** The source the fake transfer streams, and its md5 as a spec would declare it. */
export const DATA = Buffer.from('not really a disk image, but bytes all the same\n'.repeat(64));
export const DATA_MD5 = `md5:${createHash('md5').update(DATA).digest('hex')}`;

/** A transfer held open until released, to watch its progress. */
export interface HeldTransfer {
  release(): void;
}

type Behaviour = { fail: unknown } | { hold: Promise<void> };

/**
 * Stands in for the source: the transfer streams DATA into the upload, checking a declared digest as the real
 * pipeline does. A next transfer can be made to fail or to wait.
 */
export class FakeSource {
  readonly plans: Array<TransferPlan & { checksumURL?: string | undefined }> = [];
  private readonly next: Behaviour[] = [];

  failNext(error: unknown): void {
    this.next.push({ fail: error });
  }

  holdNext(): HeldTransfer {
    let release = () => undefined as void;
    this.next.push({ hold: new Promise<void>((resolve) => (release = resolve)) });
    return { release: () => release() };
  }

  readonly run: TransferRunner = async (plan, upload, progress, signal) => {
    this.plans.push(plan);
    const behaviour = this.next.shift();
    progress.total = DATA.length;
    if (behaviour && 'fail' in behaviour) throw behaviour.fail;
    if (behaviour) {
      progress.bytes = DATA.length / 2;
      await behaviour.hold;
    }
    progress.bytes = DATA.length;
    const expected = plan.expected;
    if (expected) {
      const actual = createHash(expected.algorithm).update(DATA).digest('hex');
      if (actual !== expected.hex)
        throw new ChecksumMismatchError(`${expected.algorithm} of the source is ${actual}`);
    }
    await upload(Readable.from([DATA]), signal);
    return {
      uploaded: { bytes: DATA.length, ...(expected ? { digest: expected } : {}) },
      ...(expected ? { sourceDigest: `${expected.algorithm}:${expected.hex}` } : {}),
    };
  };
}

/** A spec reaching Glance through a cloud Secret, with anything the test needs on top. */
export function imageSpec(extra: Record<string, unknown> = {}, source: Record<string, unknown> = {}) {
  return {
    cloud: {
      authUrl: 'http://keystone.test:5000/v3',
      credentialsSecretRef: { name: 'cloud-credentials' },
      imageUrl: 'http://glance.test:9292',
    },
    diskFormat: 'raw',
    ...extra,
    source: { url: 'http://images.test/cirros.img', ...source },
  };
}

/** A Secret the operator may read (it carries the access label), unless `labelled` is false. */
export const secret = (name: string, data: Record<string, string>, labelled = true) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS, ...(labelled ? { labels: { [OPERATOR_ACCESS_LABEL]: 'true' } } : {}) },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

/**
 * One Image reconciler over fakes: the Kubernetes API, Glance, the source, Events. Everything a test reads is
 * what a user would see: the Image's status and conditions, the Events, the calls that reached Glance.
 */
export class World {
  readonly kube = new FakeKubeClient();
  readonly events = new FakeEventRecorder();
  readonly glance = new FakeGlance();
  readonly source = new FakeSource();
  readonly transfers: TransferManager;
  /** The targets Glance was opened for, and those whose session was dropped. */
  readonly connected: GlanceTarget[] = [];
  readonly forgotten: GlanceTarget[] = [];
  /** Thrown by the next connect, as Keystone would. */
  connectError: unknown;
  private settled: Array<() => void> = [];
  private readonly reconciler: ImageReconciler;

  constructor(opts: { maxTransfers?: number } = {}) {
    this.transfers = new TransferManager(opts.maxTransfers ?? 2);
    this.kube.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    this.kube.seed(secret('cloud-credentials', { username: 'demo', password: 'secret', project: 'demo' }));
    const connector: GlanceConnector = {
      connect: (target) => {
        this.connected.push(target);
        const error: unknown = this.connectError;
        this.connectError = undefined;
        return error ? Promise.reject(error) : Promise.resolve(this.glance);
      },
      forget: (target) => this.forgotten.push(target),
    };
    this.reconciler = new ImageReconciler({
      kube: this.kube,
      events: this.events,
      metrics: createOperatorMetrics(),
      transfers: this.transfers,
      ...TIMINGS,
      enqueue: () => this.settled.splice(0).forEach((resolve) => resolve()),
      glance: connector,
      urlPolicy: new UrlPolicy(urlPolicyEnv.parse({}), [], async (host) => [
        { address: RESOLVES[host] ?? '192.0.2.10', family: 4 },
      ]),
      runTransfer: this.source.run,
    });
  }

  /** Declares the Image. */
  apply(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): this {
    this.kube.seed({ ...IMAGE_REF, metadata: { name: NAME, namespace: NS, ...metadata }, spec });
    return this;
  }

  /** Changes the Image as kubectl would. */
  edit(change: (obj: ImageObject) => void): void {
    this.kube.edit<ImageObject>(IMAGE_REF, change);
  }

  /** `kubectl delete namespace`: the namespace controller has marked it. */
  namespaceGoing(): void {
    this.kube.edit({ apiVersion: 'v1', kind: 'Namespace', namespace: '', name: NS }, (ns) => {
      ns.metadata.deletionTimestamp = new Date();
    });
  }

  /** Moves the Image's deletionTimestamp back past the deletion timeout. */
  pastDeletionDeadline(): void {
    this.edit((o) => {
      o.metadata.deletionTimestamp = new Date(Date.now() - TIMINGS.deletionTimeoutMs - 1000);
    });
  }

  reconcile(): Promise<ReconcileResult> {
    return this.reconciler.reconcile({ namespace: NS, name: NAME }, pino({ level: 'silent' }));
  }

  /** Resolves when the running transfer ends by itself (the reconciler is asked for a pass). */
  transferEnd(): Promise<void> {
    return new Promise((resolve) => this.settled.push(resolve));
  }

  /** Reconciles until the transfer it starts has ended, then once more: the common path to Ready. */
  async reconcileThroughTransfer(): Promise<ReconcileResult> {
    const ended = this.transferEnd();
    await this.reconcile();
    await ended;
    return this.reconcile();
  }

  object(): ImageObject | undefined {
    return this.kube.getCustomObject<ImageObject>(IMAGE, NS, NAME);
  }

  status(): ImageStatus {
    return this.object()?.status ?? {};
  }

  condition(type: string): Condition | undefined {
    return (this.status().conditions as Condition[] | undefined)?.find((c) => c.type === type);
  }

  /** The conditions as type=status/reason, for assertions on what kstatus reads. */
  conditions(): string[] {
    return ((this.status().conditions ?? []) as Condition[]).map((c) => `${c.type}=${c.status}/${c.reason}`);
  }

  /** Forgets what was written and called so far, to see what the next pass does. */
  quiet(): void {
    this.kube.clearWrites();
    this.glance.clearCalls();
    this.events.clear();
  }
}
