// A supervised informer over ImageShares. client-node 2.0.1's ListWatch stops for good on any list/watch error
// other than 410 and timeouts (and start() resolves even when the first LIST failed), so this wrapper:
// - restarts each ListWatch after every `error` with capped exponential backoff (1 s → 30 s by default);
// - tracks `synced` itself: true once every watched scope completed a LIST (it stays true across restarts, like
//   client-go's HasSynced, because the cache is still a valid, if ageing, view);
// - never lets a handler throw (a throwing handler is an unhandled rejection inside client-node, which kills the
//   process), and only ever enqueues `namespace/name` keys;
// - filters update events like GenerationChangedPredicate OR deletionTimestamp/finalizers changed OR the
//   `ecs.alicloud.dev/reconcile-requested-at` annotation changed, so the controller's own status writes (which fire
//   `update` too) do not wake it up again.
import { CustomObjectsApi, type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import { GROUP, type ImageShare, PLURAL, VERSION } from '../api/types.ts';
import { describeApiError } from './api-errors.ts';

export const RECONCILE_REQUESTED_AT = 'ecs.alicloud.dev/reconcile-requested-at';

export interface InformerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ImageShareInformerOptions {
  /** Namespaces to watch; empty = all namespaces (one cluster-wide watch). */
  namespaces?: readonly string[];
  /** Receives `namespace/name` for every relevant add, update and delete. Exceptions are caught and logged. */
  onKey: (key: string) => void;
  log: InformerLogger;
  /** First restart delay after an error. Default 1000 ms. */
  initialBackoffMs?: number;
  /** Restart delay cap. Default 30 000 ms. */
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

function sameTrigger(a: Trigger, b: Trigger): boolean {
  return (
    a.generation === b.generation &&
    a.deletionTimestamp === b.deletionTimestamp &&
    a.finalizers === b.finalizers &&
    a.requestedAt === b.requestedAt
  );
}

export const keyOf = (obj: { metadata?: { namespace?: string | undefined; name?: string | undefined } }) =>
  `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

/** One ListWatch (one namespace, or all) with its own restart loop. */
class SupervisedScope {
  readonly scope: string;
  readonly lw: ListWatch<KubernetesObject>;
  listed = false;
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
      this.listed = true;
      this.#backoffMs = opts.initialBackoffMs ?? 1_000;
      return list;
    };
    // Watch events carry raw JSON (timestamps are strings), which is exactly the ImageShare shape of src/api.
    this.lw = new ListWatch<KubernetesObject>(path, new Watch(kc), listFn, false);
    this.lw.on('add', (o) => handlers.add(o as unknown as ImageShare));
    this.lw.on('update', (o) => handlers.update(o as unknown as ImageShare));
    this.lw.on('delete', (o) => handlers.delete(o as unknown as ImageShare));
    this.lw.on('error', (err: unknown) => this.#onError(err));
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#startOnce();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
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

  #onError(err: unknown): void {
    if (this.#stopped) return; // aborting the watch on stop() may surface as an error: not a failure
    if (this.#timer !== undefined) return; // a restart is already scheduled
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(delay * 2, this.#opts.maxBackoffMs ?? 30_000);
    this.#opts.log.warn(
      { scope: this.scope, err: describeApiError(err), retryInMs: delay },
      'ImageShare informer stopped on an error; restarting',
    );
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      safeCall(() => this.#opts.onRestart?.(), this.#opts.log);
      void this.#startOnce();
    }, delay);
    this.#timer.unref();
  }
}

interface Handlers {
  add: (obj: ImageShare) => void;
  update: (obj: ImageShare) => void;
  delete: (obj: ImageShare) => void;
}

export class ImageShareInformer implements ImageShareCache {
  readonly #scopes: SupervisedScope[];
  readonly #byNamespace = new Map<string, SupervisedScope>();
  readonly #triggers = new Map<string, Trigger>();
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
   * Starts every scope. Resolves once each has made its first attempt (LIST + WATCH, or failed and scheduled a
   * restart); it does not reject. Use synced() (or waitForSync) to know when the cache is complete.
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
    const scope = this.#scopes.length === 1 && this.#byNamespace.size === 0 ? this.#scopes[0] : this.#byNamespace.get(namespace);
    return scope?.lw.get(name, namespace) as ImageShare | undefined;
  }

  list(): ImageShare[] {
    return this.#scopes.flatMap((s) => s.lw.list() as unknown as ImageShare[]);
  }

  keys(): string[] {
    return this.list().map(keyOf);
  }

  #onAdd(obj: ImageShare): void {
    const key = keyOf(obj);
    this.#triggers.set(key, triggerOf(obj));
    this.#opts.onKey(key);
  }

  #onUpdate(obj: ImageShare): void {
    const key = keyOf(obj);
    const next = triggerOf(obj);
    const prev = this.#triggers.get(key);
    this.#triggers.set(key, next);
    if (prev === undefined || !sameTrigger(prev, next)) this.#opts.onKey(key);
  }

  #onDelete(obj: ImageShare): void {
    const key = keyOf(obj);
    this.#triggers.delete(key);
    this.#opts.onKey(key);
  }

  #guard(fn: () => void): void {
    safeCall(fn, this.#opts.log);
  }
}

/** Decides whether an update event should wake the controller; exported for unit tests of the predicate. */
export function updateTriggersReconcile(before: ImageShare, after: ImageShare): boolean {
  return !sameTrigger(triggerOf(before), triggerOf(after));
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
    items.push(...(page.items ?? []));
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
