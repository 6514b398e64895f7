// The ImageShare controller: informer events become queue keys (new input urgent, restart work background, echoes
// of our own writes only wake an idle key), and the reconciler runs on the leader only. A standby keeps its cache
// warm but queues nothing: the queue starts with leadership (issue 20 item 7).
import type { ImageShare } from '../../api/types.ts';
import { describeApiError } from '../../kube/api-errors.ts';
import type { Change, ImageShareCache } from '../../kube/imageshare-informer.ts';
import { restartDelayMs } from '../../kube/restart-spread.ts';
import type { SyncedCache } from '../../runtime/cache-sync.ts';
import { CallPriority } from '../../runtime/call-priority.ts';
import { runController } from '../../runtime/controller.ts';
import type { Log } from '../../runtime/logger.ts';
import type { LeaderRunnable } from '../../runtime/manager.ts';
import type { Reconciler } from '../../runtime/reconciler.ts';
import { startResync } from '../../runtime/resync.ts';
import type { SpecWatch } from '../../runtime/spec-watch.ts';
import type { WorkQueue } from '../../runtime/workqueue.ts';

/** The daily safety net for keys whose own requeueAfter timer was lost; never shorter than the longest interval. */
const SAFETY_RESYNC_MS = 24 * 3_600_000;

export interface ImageShareControllerOptions {
  cache: ImageShareCache;
  queue: WorkQueue;
  reconcile: Reconciler;
  specWatch: SpecWatch;
  log: Pick<Log, 'info' | 'warn'>;
  concurrency: number;
  /** The default resync interval (--resync-interval): settled objects' first passes after a start spread over it. */
  resyncIntervalMs?: number;
  /** One GET of a Secret whose metadata changed: does it hold other data than the passes last read? */
  secretDataChanged: (secretKey: string) => Promise<boolean>;
  /** More caches a pass decides from (the account sets, docs/adr/0033): passes start once they listed too. */
  moreCaches?: readonly SyncedCache[];
}

export class ImageShareController implements LeaderRunnable {
  readonly name = 'imageshare';
  readonly caches: readonly SyncedCache[];
  readonly #o: ImageShareControllerOptions;
  #running = false;

  constructor(options: ImageShareControllerOptions) {
    this.#o = options;
    this.caches = [options.cache, ...(options.moreCaches ?? [])];
  }

  /** An informer event for `key`. Until this replica leads, only the spec watch hears it. */
  readonly onKey = (key: string, change: Change): void => {
    this.#o.specWatch.observed(key, this.#o.cache.get(key)?.metadata.generation);
    if (!this.#running) return;
    if (change === 'input') this.#o.queue.add(key);
    else if (change === 'restart') this.#o.queue.add(key, CallPriority.Background);
    else this.#o.queue.wake(key);
  };

  /**
   * A Secret event. The objects naming the Secret retry, as background work, when it was created or deleted, or when
   * its data changed; a metadata update (e.g. our own finalizer patch) wakes nobody. Restart work is queued by run().
   */
  readonly onSecretEvent = (secretKey: string, event: { type: 'added' | 'updated' | 'deleted'; initial: boolean }) => {
    if (!this.#running || event.initial) return;
    const referrers = imageSharesReferring(this.#o.cache.list(), secretKey);
    if (referrers.length === 0) return;
    const retry = () => {
      for (const key of referrers) this.#o.queue.add(key, CallPriority.Background);
    };
    if (event.type === 'deleted') return retry();
    this.#o.secretDataChanged(secretKey).then(
      (changed) => changed && retry(),
      (err: unknown) => {
        this.#o.log.warn(
          { secret: secretKey, err: describeApiError(err) },
          'could not read a changed Secret; retrying its users',
        );
        retry();
      },
    );
  };

  async run(passes: AbortSignal): Promise<void> {
    this.#running = true;
    // What a takeover brings is background work: a user's change made meanwhile goes first. Settled objects are
    // spread over their resync interval (src/kube/restart-spread.ts), so a restart brings no herd.
    for (const key of this.#o.cache.keys()) {
      const delay = restartDelayMs(this.#o.cache.get(key), this.#o.resyncIntervalMs ?? 0, Math.random);
      if (delay > 0) this.#o.queue.addAfter(key, delay);
      else this.#o.queue.add(key, CallPriority.Background);
    }
    const stopResync = startResync({
      keys: () => this.#o.cache.keys(),
      queue: this.#o.queue,
      intervalMs: SAFETY_RESYNC_MS,
    });
    try {
      await runController({ ...this.#o, signal: passes });
    } finally {
      stopResync();
    }
  }

  drain(ms: number): Promise<boolean> {
    return this.#o.queue.drain(ms);
  }

  shutdown(): void {
    this.#o.queue.shutdown();
  }

  inFlight(): number {
    return this.#o.queue.inFlight();
  }
}

/** Keys of the ImageShares whose spec.credentials.secretRef names `secretKey`. Pure. */
export function imageSharesReferring(objects: readonly ImageShare[], secretKey: string): string[] {
  return objects
    .filter((o) => `${o.metadata.namespace}/${o.spec?.credentials?.secretRef?.name ?? ''}` === secretKey)
    .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
}
