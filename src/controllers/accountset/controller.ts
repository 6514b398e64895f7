// Holds an AccountSet or ClusterAccountSet while it is referenced (docs/adr/0033), the way the credentials-in-use
// controller holds Secrets (docs/adr/0022): the finalizer ecs.alicloud.dev/accountset-in-use is on while any watched
// ImageShare or ImageShareSet references the set and is removed when none does, so a deletion waits, and the set's
// status names the referrers. Its own queue of set keys; leader only, after every cache it decides from listed.
import type { SyncedCache } from '../../runtime/cache-sync.ts';
import type { Log } from '../../runtime/logger.ts';
import { QueuedRunnable } from '../../runtime/manager.ts';
import {
  type AccountSetObject,
  type AccountSetStatus,
  finalizerAction,
  inUseStatus,
  sameInUseStatus,
} from './in-use.ts';

/** The writes; each fails (and the key retries) when the cached object is stale. */
export interface AccountSetWriter {
  addFinalizer(set: AccountSetObject): Promise<void>;
  removeFinalizer(set: AccountSetObject): Promise<void>;
  writeStatus(set: AccountSetObject, status: AccountSetStatus): Promise<void>;
}

export interface AccountSetInUseOptions {
  /** The cached set of a key (references.ts accountSetKey); undefined when it is gone. */
  get(setKey: string): AccountSetObject | undefined;
  /** Its referrers as `Kind namespace/name`, sorted. */
  referrers(setKey: string): string[];
  writer: AccountSetWriter;
  now(): Date;
  log: Pick<Log, 'info' | 'warn'>;
  /** Both set caches and every referrer cache: a half-listed one would drop a finalizer still needed. */
  caches: readonly SyncedCache[];
}

export class AccountSetInUseController extends QueuedRunnable {
  readonly name = 'accountset-in-use';
  readonly caches: readonly SyncedCache[];
  readonly #o: AccountSetInUseOptions;
  /** Every set key the caches reported and still hold: run() re-checks them all. */
  readonly #known = new Set<string>();
  #running = false;

  constructor(options: AccountSetInUseOptions) {
    super();
    this.#o = options;
    this.caches = options.caches;
  }

  /** A set's informer event: re-check it. */
  onSetKey(setKey: string): void {
    if (this.#o.get(setKey) === undefined) this.#known.delete(setKey);
    else this.#known.add(setKey);
    this.#enqueue(setKey);
  }

  /** Sets that gained or lost a referrer: re-check them. */
  onReferencesChanged(setKeys: readonly string[]): void {
    for (const key of setKeys) this.#enqueue(key);
  }

  run(): Promise<void> {
    this.#running = true;
    for (const key of this.#known) this.#enqueue(key);
    return this.queue.run((key) => this.#sync(key), 1);
  }

  async #sync(setKey: string): Promise<undefined> {
    const set = this.#o.get(setKey);
    if (set === undefined) return undefined;
    const referrers = this.#o.referrers(setKey);
    const action = finalizerAction(set, referrers.length);
    if (action !== undefined) {
      await this.#o.writer[action === 'add' ? 'addFinalizer' : 'removeFinalizer'](set);
      this.#o.log.info(
        { accountSet: setKey, referrers: referrers.length },
        action === 'add' ? 'account set marked in use' : 'account set no longer in use',
      );
      // A set released during its deletion is gone now: no status to write.
      if (action === 'remove' && set.metadata.deletionTimestamp !== undefined) return undefined;
    }
    const status = inUseStatus(set, referrers, this.#o.now());
    if (!sameInUseStatus(set.status, status)) await this.#o.writer.writeStatus(set, status);
    return undefined;
  }

  #enqueue(setKey: string): void {
    if (this.#running) this.queue.add(setKey);
  }
}
