import { Counter, Gauge, Histogram, Registry } from './metrics.js';

/** The operator's metrics, shared by its controllers, its leader elector and its actuators. */
export interface OperatorMetrics {
  readonly registry: Registry;
  /** Reconciles by controller and result: success, requeue, conflict, error or not-leader. */
  readonly reconciles: Counter;
  readonly reconcileSeconds: Histogram;
  readonly queueDepth: Gauge;
  readonly queueAdds: Counter;
  readonly queueRetries: Counter;
  /** Every call that changes something outside the operator, by system (kube, mysql, keystone, ceph) and operation. */
  readonly writes: Counter;
  readonly isLeader: Gauge;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  return {
    registry,
    reconciles: registry.register(
      new Counter('glance_operator_reconcile_total', 'Reconciles by controller and result.'),
    ),
    reconcileSeconds: registry.register(
      new Histogram(
        'glance_operator_reconcile_duration_seconds',
        'Time spent in one reconcile.',
        [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      ),
    ),
    queueDepth: registry.register(new Gauge('glance_operator_workqueue_depth', 'Keys waiting in the queue.')),
    queueAdds: registry.register(
      new Counter('glance_operator_workqueue_adds_total', 'Keys added to the queue.'),
    ),
    queueRetries: registry.register(
      new Counter('glance_operator_workqueue_retries_total', 'Keys re-queued with backoff after an error.'),
    ),
    writes: registry.register(
      new Counter(
        'glance_operator_writes_total',
        'Calls that change state in Kubernetes, MariaDB, Keystone or Ceph, by system and operation.',
      ),
    ),
    isLeader: registry.register(
      new Gauge('glance_operator_leader', '1 while this process holds the leader Lease, else 0.'),
    ),
  };
}
