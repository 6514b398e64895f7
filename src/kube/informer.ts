// A supervised informer over ImageShares. client-node 2.0.1's ListWatch stops for good on any list/watch error
// other than 410 and timeouts (and its start() resolves even when the first LIST failed), so this wrapper:
// - restarts each ListWatch after every `error` with capped exponential backoff (1 s → 5 s by default, so the watch
//   is back within seconds of an apiserver outage ending), and caps ListWatch's own reconnect delay the same way;
// - start() resolves only once every watched scope completed a LIST (it keeps retrying until then, and rejects if
//   stop() comes first); `synced` stays true across restarts, like client-go's HasSynced, because the cache is
//   still a valid, if ageing, view;
// - keeps only what the controller reads (lean-object.ts) and indexes objects by (regionId, imageId), so the
//   one-image-one-owner check is a map lookup instead of a scan of the cache;
// - never lets a handler throw (a throwing handler is an unhandled rejection inside client-node, which kills the
//   process), and only ever enqueues `namespace/name` keys;
// - filters update events like GenerationChangedPredicate OR deletionTimestamp/finalizers changed OR the
//   `ecs.alicloud.dev/reconcile-requested-at` annotation changed, so the controller's own status writes (which fire
//   `update` too) do not wake it up again.
import { setTimeout as delay } from 'node:timers/promises';
import { CustomObjectsApi, type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import { GROUP, type ImageShare, PLURAL, VERSION } from '../api/types.ts';
import { describeApiError } from './api-errors.ts';
import { leanImageShare } from './lean-object.ts';

export const RECONCILE_REQUESTED_AT = 'ecs.alicloud.dev/reconcile-requested-at';

export interface InformerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ImageShareInformerOptions {
  /** Namespaces to watch; empty = all namespaces (one cluster-wide watch). */
  namespaces?: readonly string[];
  /**
   * Receives `namespace/name` for every relevant add, update and delete, with what the event is: new input, or only
   * a change the controller's own write may have caused (`wake`). Exceptions are caught and logged.
   */
  onKey: (key: string, change: Change) => void;
  log: InformerLogger;
  /** First restart delay after an error. Default 1000 ms. */
  initialBackoffMs?: number;
  /** Restart delay cap. Default 5 000 ms. */
  maxBackoffMs?: number;
  /** Called on every restart after an error (for metrics). */
  onRestart?: () => void;
  /** Page size of the (re)list. Default 500. */
  pageSize?: number;
}

/** The read side the controller uses: a cache plus sync state. */
export interface ImageShareCache {
  /** The cached object for `namespace/name`, or undefined. */
  get(key: string): ImageShare | undefined;
  /** Keys of every cached object. */
  keys(): string[];
  /** Every cached object. */
  list(): ImageShare[];
  /** Every cached object naming (regionId, imageId), in no particular order; O(1) in the cache size. */
  claimants(regionId: string, imageId: string): ImageShare[];
  /** True once every watched scope completed its initial LIST. */
  synced(): boolean;
}

/** What update events are allowed to wake the controller: anything that changes desired state or lifecycle. */
interface Trigger {
  generation: number | undefined;
  deletionTimestamp: string | undefined;
  finalizers: string;
  requestedAt: string | undefined;
}

function triggerOf(obj: ImageShare): Trigger {
  return {
    generation: obj.metadata.generation,
    deletionTimestamp: obj.metadata.deletionTimestamp,
    finalizers: JSON.stringify(obj.metadata.finalizers ?? []),
    requestedAt: obj.metadata.annotations?.[RECONCILE_REQUESTED_AT],
  };
}

/**
 * What an event is to the controller: new input (a creation, a spec change, a deletion, a manual request), work a
 * restart brings (the first LIST), or only a finalizer change that may be the echo of our own patch.
 */
export type Change = 'input' | 'restart' | 'wake';

function changeBetween(a: Trigger, b: Trigger): Change | undefined {
  if (a.generation !== b.generation || a.deletionTimestamp !== b.deletionTimestamp || a.requestedAt !== b.requestedAt)
    return 'input';
  return a.finalizers === b.finalizers ? undefined : 'wake';
}

const claimKey = (regionId: string, imageId: string): string => `${regionId}\u0000${imageId}`;

export const keyOf = (obj: { metadata?: { namespace?: string | undefined; name?: string | undefined } }) =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

/**
 * A Watch whose events carry lean objects, so ListWatch's cache never holds a full one. It also reports a watch that
 * expired (410 Gone, as an ERROR event or as the response status), after which ListWatch relists on its own: the
 * only trace of that relist.
 */
class LeanWatch extends Watch {
  readonly #onExpired: () => void;

  constructor(kc: KubeConfig, onExpired: () => void) {
    super(kc);
    this.#onExpired = onExpired;
  }

  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    const onEvent: typeof callback = (phase, obj, raw) => {
      if (phase === 'ERROR' && isGone(obj)) this.#onExpired();
      callback(phase, leanIfObject(phase, obj), raw);
    };
    const onDone: typeof done = (err) => {
      if (isGone(err)) this.#onExpired();
      done(err);
    };
    return super.watch(path, query, onEvent, onDone);
  }
}

/** A Status (ERROR event) with code 410, or an error whose HTTP status is 410. */
function isGone(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as { code?: unknown; statusCode?: unknown };
  return o.code === 410 || o.statusCode === 410;
}

/** ERROR and BOOKMARK events carry a Status or a bare object: only real objects are made lean. */
function leanIfObject(phase: string, obj: unknown): unknown {
  if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED') return obj;
  return leanImageShare(obj as ImageShare);
}

/** One ListWatch (one namespace, or all) with its own restart loop. */
class SupervisedScope {
  readonly scope: string;
  readonly lw: ListWatch<KubernetesObject>;
  listed = false;
  readonly #listedWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #stopped = true;
  #backoffMs: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #opts: ImageShareInformerOptions;

  constructor(kc: KubeConfig, namespace: string | undefined, opts: ImageShareInformerOptions, handlers: Handlers) {
    this.#opts = opts;
    this.#backoffMs = opts.initialBackoffMs ?? 1_000;
    this.scope = namespace ?? '(all namespaces)';
    const api = kc.makeApiClient(CustomObjectsApi);
    const path =
      namespace === undefined
        ? `/apis/${GROUP}/${VERSION}/${PLURAL}`
        : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`;
    const listFn = async () => {
      const list = await listAllPages(api, namespace, opts.pageSize ?? 500);
      this.#backoffMs = opts.initialBackoffMs ?? 1_000;
      // ListWatch fills its cache from `list` synchronously once this promise settles (a few microtasks later); a
      // macrotask runs after that, so `listed` never turns true before the cache holds the LIST.
      setImmediate(() => this.#markListed());
      return list;
    };
    const maxDelay = opts.maxBackoffMs ?? 5_000;
    // Watch events carry raw JSON (timestamps are strings), which is exactly the ImageShare shape of src/api.
    const onExpired = () =>
      opts.log.info(
        { scope: this.scope, resourceVersion: this.lw.latestResourceVersion() },
        'ImageShare watch expired (410 Gone); relisting',
      );
    this.lw = new ListWatch<KubernetesObject>(path, new LeanWatch(kc, onExpired), listFn, false, undefined, undefined, {
      delayFn: (ms: number) => delay(Math.min(ms, maxDelay)),
    });
    this.lw.on('add', (o) => handlers.add(o as unknown as ImageShare));
    this.lw.on('update', (o) => handlers.update(o as unknown as ImageShare));
    this.lw.on('delete', (o) => handlers.delete(o as unknown as ImageShare));
    this.lw.on('error', (err: unknown) => this.#onError(err));
  }

  /** Starts the ListWatch; resolves once its first LIST completed (retrying until then), rejects on stop(). */
  start(): Promise<void> {
    this.#stopped = false;
    const listed = this.listed
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => this.#listedWaiters.push({ resolve, reject }));
    void this.#startOnce();
    return listed;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const w of this.#listedWaiters.splice(0))
      w.reject(new Error(`informer for ${this.scope} stopped before its first LIST`));
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.lw.stop();
  }

  async #startOnce(): Promise<void> {
    try {
      await this.lw.start();
    } catch (err: unknown) {
      // 2.0.1 reports list/watch failures as `error` events, but keep a throw from start() on the same path.
      this.#onError(err);
    }
  }

  #markListed(): void {
    this.listed = true;
    for (const w of this.#listedWaiters.splice(0)) w.resolve();
  }

  #onError(err: unknown): void {
    if (this.#stopped) return; // aborting the watch on stop() may surface as an error: not a failure
    if (this.#timer !== undefined) return; // a restart is already scheduled
    const waitMs = this.#backoffMs;
    this.#backoffMs = Math.min(waitMs * 2, this.#opts.maxBackoffMs ?? 5_000);
    this.#opts.log.warn(
      { scope: this.scope, err: describeApiError(err), retryInMs: waitMs },
      'ImageShare informer stopped on an error; restarting',
    );
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      safeCall(() => this.#opts.onRestart?.(), this.#opts.log);
      void this.#startOnce();
    }, waitMs);
    this.#timer.unref();
  }
}

interface Handlers {
  add: (obj: ImageShare) => void;
  update: (obj: ImageShare) => void;
  delete: (obj: ImageShare) => void;
}

export class ImageShareInformer implements ImageShareCache {
  readonly name = 'ImageShare';
  readonly #scopes: SupervisedScope[];
  readonly #byNamespace = new Map<string, SupervisedScope>();
  readonly #triggers = new Map<string, Trigger>();
  /** (regionId, imageId) → key → object: the one-image-one-owner index. */
  readonly #claims = new Map<string, Map<string, ImageShare>>();
  /** key → its index entry, to move it when an update changes the image (spec is immutable, but be safe). */
  readonly #claimOf = new Map<string, string>();
  readonly #opts: ImageShareInformerOptions;

  constructor(kc: KubeConfig, options: ImageShareInformerOptions) {
    this.#opts = options;
    const handlers: Handlers = {
      add: (obj) => this.#guard(() => this.#onAdd(obj)),
      update: (obj) => this.#guard(() => this.#onUpdate(obj)),
      delete: (obj) => this.#guard(() => this.#onDelete(obj)),
    };
    const namespaces = [...new Set(options.namespaces ?? [])];
    this.#scopes =
      namespaces.length === 0
        ? [new SupervisedScope(kc, undefined, options, handlers)]
        : namespaces.map((ns) => {
            const scope = new SupervisedScope(kc, ns, options, handlers);
            this.#byNamespace.set(ns, scope);
            return scope;
          });
  }

  /**
   * Starts every scope and resolves once each has completed its first LIST, so the cache is complete: workers must
   * not start before. Until then failed LISTs are retried with backoff (forever); rejects only when stop() is
   * called first.
   */
  async start(): Promise<void> {
    await Promise.all(this.#scopes.map((s) => s.start()));
  }

  /** Stops every watch and pending restart. The cache keeps its last contents. */
  async stop(): Promise<void> {
    await Promise.all(this.#scopes.map((s) => s.stop()));
  }

  synced(): boolean {
    return this.#scopes.every((s) => s.listed);
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
    const slash = key.indexOf('/');
    if (slash < 0) return undefined;
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const scope =
      this.#scopes.length === 1 && this.#byNamespace.size === 0 ? this.#scopes[0] : this.#byNamespace.get(namespace);
    return scope?.lw.get(name, namespace) as ImageShare | undefined;
  }

  list(): ImageShare[] {
    return this.#scopes.flatMap((s) => s.lw.list() as unknown as ImageShare[]);
  }

  keys(): string[] {
    return this.list().map(keyOf);
  }

  claimants(regionId: string, imageId: string): ImageShare[] {
    const entry = this.#claims.get(claimKey(regionId, imageId));
    return entry === undefined ? [] : [...entry.values()];
  }

  #index(key: string, obj: ImageShare | undefined): void {
    const before = this.#claimOf.get(key);
    if (before !== undefined) {
      const entry = this.#claims.get(before);
      entry?.delete(key);
      if (entry?.size === 0) this.#claims.delete(before);
      this.#claimOf.delete(key);
    }
    if (obj === undefined) return;
    const claim = claimKey(obj.spec?.regionId ?? '', obj.spec?.imageId ?? '');
    let entry = this.#claims.get(claim);
    if (entry === undefined) {
      entry = new Map();
      this.#claims.set(claim, entry);
    }
    entry.set(key, obj);
    this.#claimOf.set(key, claim);
  }

  #onAdd(obj: ImageShare): void {
    const key = keyOf(obj);
    this.#index(key, obj);
    this.#triggers.set(key, triggerOf(obj));
    this.#opts.onKey(key, 'input');
  }

  #onUpdate(obj: ImageShare): void {
    const key = keyOf(obj);
    this.#index(key, obj);
    const next = triggerOf(obj);
    const prev = this.#triggers.get(key);
    this.#triggers.set(key, next);
    const change = prev === undefined ? 'input' : changeBetween(prev, next);
    if (change !== undefined) this.#opts.onKey(key, change);
  }

  /** A deleted object also wakes the other claimants of its image, so one of them takes over at once. */
  #onDelete(obj: ImageShare): void {
    const key = keyOf(obj);
    this.#index(key, undefined);
    this.#triggers.delete(key);
    this.#opts.onKey(key, 'input');
    for (const other of this.claimants(obj.spec.regionId, obj.spec.imageId)) this.#opts.onKey(keyOf(other), 'input');
  }

  #guard(fn: () => void): void {
    safeCall(fn, this.#opts.log);
  }
}

/** What an update event is to the controller (undefined: nothing it reacts to); exported for unit tests. */
export function changeOf(before: ImageShare, after: ImageShare): Change | undefined {
  return changeBetween(triggerOf(before), triggerOf(after));
}

function safeCall(fn: () => void, log: InformerLogger): void {
  try {
    fn();
  } catch (err: unknown) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'informer handler threw; event dropped');
  }
}

async function listAllPages(api: CustomObjectsApi, namespace: string | undefined, limit: number) {
  const items: ImageShare[] = [];
  let resourceVersion = '';
  let token: string | undefined;
  do {
    const common = { group: GROUP, version: VERSION, limit, ...(token === undefined ? {} : { _continue: token }) };
    const page = (
      namespace === undefined
        ? await api.listCustomObjectForAllNamespaces({ ...common, resourcePlural: PLURAL })
        : await api.listNamespacedCustomObject({ ...common, namespace, plural: PLURAL })
    ) as { items?: ImageShare[]; metadata?: { resourceVersion?: string; continue?: string } };
    for (const item of page.items ?? []) items.push(leanImageShare(item));
    // Every page of a paginated LIST is the same snapshot; the first page's resourceVersion is the snapshot's.
    if (resourceVersion === '') resourceVersion = page.metadata?.resourceVersion ?? '';
    const next = page.metadata?.continue;
    token = next === undefined || next === '' ? undefined : next;
  } while (token !== undefined);
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'ImageShareList',
    metadata: { resourceVersion },
    items: items as unknown as KubernetesObject[],
  };
}
