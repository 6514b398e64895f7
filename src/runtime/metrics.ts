// Prometheus metrics on a registry of our own (never prom-client's global default, so tests and embedders get a
// clean set). Names follow the `imageshare_` prefix documented in docs/metrics.md. Labels are low-cardinality
// enums only: never object names, namespaces, account IDs, access key IDs or secrets.
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReconcileObservation } from './workqueue.ts';

/** One ECS API call, as the cloud adapter factory reports it through its onCall callback. */
export interface EcsCallObservation {
  /** The API action, e.g. ModifyImageSharePermission. */
  action: string;
  /** 'OK' or the ECS error code (a closed, documented set; unknown codes are reported as-is by ECS). */
  code: string;
  durationMs: number;
}

/** A row for the imageshare_objects gauge: how many objects have this Ready status and reason. */
export interface ObjectCount {
  ready: 'True' | 'False' | 'Unknown';
  reason: string;
  count: number;
}

/** Children of all ImageShareSets by state (the sum of their status.children). */
export interface SetChildCounts {
  synced: number;
  failed: number;
  pending: number;
}

export interface QueueGaugeSource {
  len(): number;
  /** Ready keys by the priority of their next run (urgent: a change someone waits for). */
  lenByPriority(): { urgent: number; background: number };
  delayed(): number;
  inFlight(): number;
}

export interface OperatorMetricsOptions {
  /** Also export Node.js process metrics (heap, event loop lag, …). Default true. */
  processMetrics?: boolean;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly #reconcileTotal: Counter<'result'>;
  readonly #reconcileDuration: Histogram<'result'>;
  readonly #queueDepth: Gauge<'state'>;
  readonly #queuedByPriority: Gauge<'priority'>;
  readonly #ecsCalls: Counter<'action' | 'code'>;
  readonly #ecsDuration: Histogram<'action'>;
  readonly #leader: Gauge;
  readonly #objects: Gauge<'ready' | 'reason'>;
  readonly #informerRestarts: Counter;
  readonly #tagFallbacks: Counter;
  #queue: QueueGaugeSource | undefined;
  #objectCounts: (() => readonly ObjectCount[]) | undefined;
  // ImageShareSets (docs/adr/0027): summed over every set, no per-set label (docs/metrics.md keeps names out).
  readonly #setChildren: Gauge<'state'>;
  readonly #setDiscoveries: Counter;
  readonly #setDiscoveryErrors: Counter<'kind'>;
  #setChildCounts: (() => SetChildCounts) | undefined;

  constructor(options: OperatorMetricsOptions = {}) {
    const registers = [this.registry];
    this.#reconcileTotal = new Counter({
      name: 'imageshare_reconcile_total',
      help: 'Reconciles by result: success, error (retried with backoff), requeue_after, terminal (not retried).',
      labelNames: ['result'],
      registers,
    });
    this.#reconcileDuration = new Histogram({
      name: 'imageshare_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by result.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#queueDepth = new Gauge({
      name: 'imageshare_queue_depth',
      help: 'Work queue keys by state: queued (ready for a worker), delayed (waiting on a backoff or requeue timer), processing.',
      labelNames: ['state'],
      registers,
      collect: () => this.#collectQueue(),
    });
    this.#queuedByPriority = new Gauge({
      name: 'imageshare_queue_queued_by_priority',
      help: 'Work queue keys ready for a worker, by priority: urgent (a change someone waits for) or background (resyncs, retries, restart work).',
      labelNames: ['priority'],
      registers,
      collect: () => this.#collectQueue(),
    });
    this.#ecsCalls = new Counter({
      name: 'imageshare_ecs_calls_total',
      help: 'ECS API calls by action and result code (OK or the ECS error code).',
      labelNames: ['action', 'code'],
      registers,
    });
    this.#ecsDuration = new Histogram({
      name: 'imageshare_ecs_call_duration_seconds',
      help: 'ECS API call latency by action, including SDK retries.',
      labelNames: ['action'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#leader = new Gauge({
      name: 'imageshare_leader_status',
      help: '1 while this replica holds the leader Lease, else 0.',
      registers,
    });
    this.#leader.set(0);
    this.#objects = new Gauge({
      name: 'imageshare_objects',
      help: 'ImageShares by Ready condition status and reason, as last reported by the reconciler.',
      labelNames: ['ready', 'reason'],
      registers,
    });
    this.#informerRestarts = new Counter({
      name: 'imageshare_informer_restarts_total',
      help: 'Times the ImageShare informer was restarted after a list or watch error.',
      registers,
    });
    this.#tagFallbacks = new Counter({
      name: 'imageshare_ownership_tag_fallback_total',
      help: "Reconcile passes that could not write the image's owner tag and checked ownership in this cluster only.",
      registers,
    });
    this.#setChildren = new Gauge({
      name: 'imageshare_set_children',
      help: "Child ImageShares of all ImageShareSets by state (synced, failed, pending), from the sets' status.",
      labelNames: ['state'],
      registers,
      collect: () => this.#collectSetChildren(),
    });
    this.#setDiscoveries = new Counter({
      name: 'imageshare_set_discovery_rounds_total',
      help: 'ImageShareSet discovery rounds, one per set per round (a pass reusing its listing of the tick is not one).',
      registers,
    });
    this.#setDiscoveryErrors = new Counter({
      name: 'imageshare_set_discovery_errors_total',
      help: 'Regions whose listing failed in a discovery round, by error kind (transient or terminal).',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'imageshare_build_info',
      help: 'Always 1; labels: operator version, Node.js version, git commit (IMAGESHARE_COMMIT, set in the image).',
      labelNames: ['version', 'node_version', 'commit'],
      registers,
    }).set(
      { version: packageVersion(), node_version: process.version, commit: process.env.IMAGESHARE_COMMIT || 'unknown' },
      1,
    );
    // The event-loop delay monitor samples once a second, not prom-client's default every 10 ms: at rest that timer
    // alone was 0.3 % of a core (issue 19; docs/performance.md).
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1_000 });
  }

  /** Feeds the reconcile counter and histogram; pass as WorkQueueOptions.onReconcile. */
  readonly observeReconcile = (o: ReconcileObservation): void => {
    this.#reconcileTotal.inc({ result: o.outcome });
    this.#reconcileDuration.observe({ result: o.outcome }, o.durationMs / 1000);
  };

  /** Feeds the ECS call counter and histogram; pass as the ECS adapter factory's onCall. */
  readonly observeEcsCall = (o: EcsCallObservation): void => {
    this.#ecsCalls.inc({ action: o.action, code: o.code });
    this.#ecsDuration.observe({ action: o.action }, o.durationMs / 1000);
  };

  /** The queue whose depth is sampled at every scrape. */
  bindQueue(queue: QueueGaugeSource): void {
    this.#queue = queue;
  }

  setLeader(leading: boolean): void {
    this.#leader.set(leading ? 1 : 0);
  }

  /** Where the imageshare_objects rows come from: read from the cache at every scrape, not on every reconcile. */
  bindObjectCounts(counts: () => readonly ObjectCount[]): void {
    this.#objectCounts = counts;
  }

  /** Replaces the whole imageshare_objects gauge with `counts` (rows absent from `counts` disappear). */
  setObjectCounts(counts: readonly ObjectCount[]): void {
    this.#objects.reset();
    for (const c of counts) this.#objects.set({ ready: c.ready, reason: c.reason }, c.count);
  }

  informerRestarted(): void {
    this.#informerRestarts.inc();
  }

  /** A pass fell back to cluster-local ownership checks (TagResources refused). */
  ownershipTagFallback(): void {
    this.#tagFallbacks.inc();
  }

  /** Where imageshare_set_children comes from: the sets' status.children, summed at every scrape. */
  bindSetChildCounts(counts: () => SetChildCounts): void {
    this.#setChildCounts = counts;
  }

  /** One discovery round of one set: every region listed, `failed` of them with an error of that kind. */
  readonly observeSetDiscovery = (failed: { transient: number; terminal: number }): void => {
    this.#setDiscoveries.inc();
    if (failed.transient > 0) this.#setDiscoveryErrors.inc({ kind: 'transient' }, failed.transient);
    if (failed.terminal > 0) this.#setDiscoveryErrors.inc({ kind: 'terminal' }, failed.terminal);
  };

  #collectSetChildren(): void {
    const c = this.#setChildCounts?.() ?? { synced: 0, failed: 0, pending: 0 };
    for (const state of ['synced', 'failed', 'pending'] as const) this.#setChildren.set({ state }, c[state]);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    if (this.#objectCounts !== undefined) this.setObjectCounts(this.#objectCounts());
    return this.registry.metrics();
  }

  #collectQueue(): void {
    const q = this.#queue;
    if (q === undefined) return;
    this.#queueDepth.set({ state: 'queued' }, q.len());
    this.#queueDepth.set({ state: 'delayed' }, q.delayed());
    this.#queueDepth.set({ state: 'processing' }, q.inFlight());
    const { urgent, background } = q.lenByPriority();
    this.#queuedByPriority.set({ priority: 'urgent' }, urgent);
    this.#queuedByPriority.set({ priority: 'background' }, background);
  }
}

/** package.json's version: two levels up from both src/runtime/ and dist/runtime/ (the image keeps package.json). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
