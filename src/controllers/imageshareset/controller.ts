// The ImageShareSet controller (docs/adr/0027): set events and the events of its children become queue keys of the
// set; the reconciler runs on the leader only. A pass tells the controller which ImageShares are the set's children,
// so a hand edit or a status change of a child brings its set back at once.
import { references } from '../../fleet/accounts.ts';
import type { AccountSetRef, ImageShareSet } from '../../fleet/types.ts';
import { CallPriority } from '../../runtime/call-priority.ts';
import { runController } from '../../runtime/controller.ts';
import type { Log } from '../../runtime/logger.ts';
import { QueuedRunnable } from '../../runtime/manager.ts';
import type { Reconciler } from '../../runtime/reconciler.ts';
import type { SyncedCache } from '../../runtime/cache-sync.ts';
import { startResync } from '../../runtime/resync.ts';

/** The daily safety net for keys whose own requeueAfter timer was lost. */
const SAFETY_RESYNC_MS = 24 * 3_600_000;

export interface ImageShareSetControllerOptions {
  /** Set keys of the cache (a takeover queues every one). */
  keys: () => string[];
  /** The cached sets, to find the referrers of an AccountSet. */
  sets: () => readonly ImageShareSet[];
  caches: readonly SyncedCache[];
  log: Pick<Log, 'info' | 'warn'>;
  concurrency: number;
}

export class ImageShareSetController extends QueuedRunnable {
  readonly name = 'imageshareset';
  readonly caches: readonly SyncedCache[];
  readonly #o: ImageShareSetControllerOptions;
  readonly #setOf = new Map<string, string>();
  readonly #childrenOf = new Map<string, readonly string[]>();
  #reconcile: Reconciler | undefined;
  #running = false;

  constructor(options: ImageShareSetControllerOptions) {
    super();
    this.#o = options;
    this.caches = options.caches;
  }

  /** The reconciler, bound after construction (it reports children back through `children`). */
  bind(reconcile: Reconciler): void {
    this.#reconcile = reconcile;
  }

  /** A set event that is new input (see setChanged); a restart's first LIST is background work. */
  readonly onSetKey = (key: string, initial: boolean): void => {
    if (!this.#running) return;
    this.queue.add(key, initial ? CallPriority.Background : CallPriority.Urgent);
  };

  /** Any event of an ImageShare: when it is a set's child, that set comes back (to revert a hand edit, count status). */
  readonly onImageShareKey = (key: string): void => {
    const set = this.#setOf.get(key);
    if (set !== undefined && this.#running) this.queue.add(set);
  };

  /** An AccountSet or ClusterAccountSet changed: every set that references it comes back (docs/adr/0028). */
  readonly onAccountSet = (kind: AccountSetRef['kind'], namespace: string, name: string): void => {
    if (!this.#running) return;
    for (const set of this.#o.sets())
      if (references(set, kind, namespace, name)) this.queue.add(`${set.metadata.namespace}/${set.metadata.name}`);
  };

  /** Records which ImageShares are `setKey`'s children (called by every pass). */
  readonly children = (setKey: string, childKeys: readonly string[]): void => {
    for (const old of this.#childrenOf.get(setKey) ?? []) if (this.#setOf.get(old) === setKey) this.#setOf.delete(old);
    for (const k of childKeys) this.#setOf.set(k, setKey);
    if (childKeys.length === 0) this.#childrenOf.delete(setKey);
    else this.#childrenOf.set(setKey, childKeys);
  };

  async run(passes: AbortSignal): Promise<void> {
    const reconcile = this.#reconcile;
    if (reconcile === undefined) throw new Error('ImageShareSetController.run before bind()');
    this.#running = true;
    for (const key of this.#o.keys()) this.queue.add(key, CallPriority.Background);
    const stopResync = startResync({ keys: this.#o.keys, queue: this.queue, intervalMs: SAFETY_RESYNC_MS });
    try {
      await runController({ ...this.#o, queue: this.queue, reconcile, signal: passes });
    } finally {
      stopResync();
    }
  }
}
