// The ImageShare layer on the supervised informer (informer.ts): it keeps only what the controller reads
// (lean-object.ts), indexes objects by (regionId, imageId) so the one-image-one-owner check is a map lookup, and
// tells the controller what each event is: new input (a creation, a spec change, a deletion, a re-created object, the
// `ecs.alicloud.dev/reconcile-requested-at` annotation), restart work (the first LIST), or only a finalizer change
// that may be the echo of our own patch. Status writes (ours) and label edits wake nothing.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, type ImageShare, PLURAL, VERSION } from '../api/types.ts';
import { ClaimIndex } from './claim-index.ts';
import { Informer, type InformerEvent, InformerLayer, type InformerOptions, keyOf } from './informer.ts';
import { leanImageShare } from './lean-object.ts';

export const RECONCILE_REQUESTED_AT = 'ecs.alicloud.dev/reconcile-requested-at';

/**
 * What an event is to the controller: new input, work a restart brings (the first LIST), or only a finalizer change
 * that may be the echo of our own patch (it must not cut short the delay a pass chose).
 */
export type Change = 'input' | 'restart' | 'wake';

export interface ImageShareInformerOptions
  extends Pick<
    InformerOptions<ImageShare>,
    'log' | 'initialBackoffMs' | 'maxBackoffMs' | 'onRestart' | 'pageSize' | 'watchTimeoutSeconds'
  > {
  /** Namespaces to watch; empty = all namespaces (one cluster-wide watch). */
  namespaces?: readonly string[];
  /** Only ImageShares matching this label selector (one shard of a sharded installation, docs/scaling.md). */
  labelSelector?: string | undefined;
  /** Receives `namespace/name` and what the event is, for every relevant add, update and delete. */
  onKey: (key: string, change: Change) => void;
}

/** The read side the controller uses: a cache plus sync state. */
export interface ImageShareCache {
  get(key: string): ImageShare | undefined;
  keys(): string[];
  list(): ImageShare[];
  /** Every cached object naming (regionId, imageId), in no particular order; O(1) in the cache size. */
  claimants(regionId: string, imageId: string): ImageShare[];
  /** True once every watched scope holds its first LIST. */
  synced(): boolean;
}

/** The fields whose change is new input, and the finalizers (a change there only wakes an idle key). */
interface Trigger {
  uid: string | undefined;
  generation: number | undefined;
  deletionTimestamp: string | undefined;
  requestedAt: string | undefined;
  finalizers: string;
}

function triggerOf(obj: ImageShare): Trigger {
  return {
    uid: obj.metadata.uid,
    generation: obj.metadata.generation,
    deletionTimestamp: obj.metadata.deletionTimestamp,
    requestedAt: obj.metadata.annotations?.[RECONCILE_REQUESTED_AT],
    finalizers: JSON.stringify(obj.metadata.finalizers ?? []),
  };
}

function changeBetween(a: Trigger, b: Trigger): Change | undefined {
  if (
    a.uid !== b.uid ||
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    a.requestedAt !== b.requestedAt
  )
    return 'input';
  return a.finalizers === b.finalizers ? undefined : 'wake';
}

/** What an update event is to the controller (undefined: nothing it reacts to); exported for unit tests. */
export function changeOf(before: ImageShare, after: ImageShare): Change | undefined {
  return changeBetween(triggerOf(before), triggerOf(after));
}

export class ImageShareInformer extends InformerLayer<ImageShare> implements ImageShareCache {
  readonly name = 'ImageShare';
  protected readonly informer: Informer<ImageShare>;
  /** (regionId, imageId) → the keys naming it: the one-image-one-owner index. */
  readonly #claims = new ClaimIndex();
  readonly #onKey: ImageShareInformerOptions['onKey'];
  readonly #stored: Array<(key: string, obj: ImageShare) => void> = [];

  constructor(kc: KubeConfig, options: ImageShareInformerOptions) {
    super();
    this.#onKey = options.onKey;
    const api = kc.makeApiClient(CustomObjectsApi);
    const namespaces = options.namespaces ?? [];
    this.informer = new Informer<ImageShare>(kc, {
      ...options,
      kind: 'ImageShare',
      namespaces: namespaces.length === 0 ? 'all' : namespaces,
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
      listPage: async (namespace, { limit, continue: token }) => {
        const common = {
          group: GROUP,
          version: VERSION,
          limit,
          ...(token === undefined ? {} : { _continue: token }),
          ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
        };
        // Custom objects come back as raw JSON (timestamps are strings): exactly the ImageShare shape of src/api.
        return namespace === undefined
          ? await api.listCustomObjectForAllNamespaces({ ...common, resourcePlural: PLURAL })
          : await api.listNamespacedCustomObject({ ...common, namespace, plural: PLURAL });
      },
      watchPath: (namespace) =>
        namespace === undefined
          ? `/apis/${GROUP}/${VERSION}/${PLURAL}`
          : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      keep: leanImageShare,
      onEvent: (e) => this.#onEvent(e),
    });
  }

  /** Resolves true once synced, or false after `timeoutMs` (polling every `pollMs`, default 100 ms). */
  async waitForSync(timeoutMs: number, pollMs = 100): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced()) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return true;
  }

  get(key: string): ImageShare | undefined {
    return this.informer.get(key);
  }

  list(): ImageShare[] {
    return this.informer.list();
  }

  keys(): string[] {
    return this.informer.keys();
  }

  resourceVersions(): Record<string, string> {
    return this.informer.resourceVersions();
  }

  claimants(regionId: string, imageId: string): ImageShare[] {
    return this.#claims.keys(regionId, imageId).flatMap((k) => this.informer.get(k) ?? []);
  }

  /** Calls `listener` with every object the cache stores (adds and updates; status-only updates included). */
  onStored(listener: (key: string, obj: ImageShare) => void): void {
    this.#stored.push(listener);
  }

  #onEvent({ type, obj, old, initial }: InformerEvent<ImageShare>): void {
    const key = keyOf(obj);
    if (type !== 'deleted') for (const listener of this.#stored) listener(key, obj);
    if (type === 'deleted') {
      this.#claims.remove(key, obj);
      this.#onKey(key, 'input');
      // The other claimants of its image: one of them takes over at once.
      for (const other of this.claimants(obj.spec.regionId, obj.spec.imageId)) this.#onKey(keyOf(other), 'input');
      return;
    }
    if (old !== undefined) this.#claims.remove(key, old);
    this.#claims.add(key, obj);
    const change = type === 'added' ? (initial ? 'restart' : 'input') : changeOf(old ?? obj, obj);
    if (change !== undefined) this.#onKey(key, change);
  }
}
