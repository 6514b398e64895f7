// One supervised informer for every watched kind: a cache per scope (one namespace, or all), filled by a paginated
// LIST and kept current by a WATCH with bookmarks. It owns what each layer needs and must not get wrong:
// - failures of any kind (an HTTP error, a reset connection, a credential plugin or token file that fails on
//   reconnect) end in one logged error and a retry with capped exponential backoff, never in an unhandled rejection;
//   the watch resumes from the cache's resourceVersion, and a 410 Gone relists, where an object deleted and
//   re-created meanwhile shows as a new uid;
// - `listed` turns true only once the cache holds the whole LIST; it stays true across restarts (client-go's HasSynced);
// - handlers cannot throw into the loop; the cache keeps only what the layer's `keep` returns.
import { type KubeConfig, type RequestContext, Watch } from '@kubernetes/client-node';
import type { Log } from '../runtime/logger.ts';
import { describeApiError, httpStatusOf } from './api-errors.ts';

export type Meta = { metadata?: { namespace?: string | undefined; name?: string | undefined } };

/** What the informer reads of any object. */
export type Cached = {
  metadata?: {
    namespace?: string | undefined;
    name?: string | undefined;
    uid?: string | undefined;
    resourceVersion?: string | undefined;
  };
};

/** The one cache and queue key: `namespace/name`. */
export const keyOf = (obj: Meta): string => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export interface InformerEvent<T> {
  type: 'added' | 'updated' | 'deleted';
  obj: T;
  /** For updates: the cached object it replaces. */
  old?: T;
  /** True for objects found by a scope's first LIST: work a restart brings, not a change. */
  initial: boolean;
}

export interface ListPage<T> {
  items?: T[];
  metadata?: { resourceVersion?: string | undefined; continue?: string | undefined };
}

export interface InformerOptions<T extends Cached> {
  /** For logs: 'ImageShare', 'Secret'. */
  kind: string;
  /** One scope per namespace; 'all' = one cluster-wide scope. */
  namespaces: 'all' | readonly string[];
  /** One page of the LIST of a scope (namespace undefined = all). */
  listPage(namespace: string | undefined, page: { limit: number; continue?: string }): Promise<ListPage<T>>;
  /** The collection path a scope watches. */
  watchPath(namespace: string | undefined): string;
  /** Only objects matching this label selector (sharding, docs/scaling.md); the LIST side is listPage's. */
  labelSelector?: string | undefined;
  /** An Accept header for the watch (e.g. metadata only). */
  watchAccept?: string;
  /** What the cache keeps of an object (it may return the same object, trimmed in place). */
  keep(obj: T): T;
  /** Called for every change of the cache. Exceptions are caught and logged. */
  onEvent(event: InformerEvent<T>): void;
  log: Log;
  /** First retry delay after an error (default 1 s), doubling to maxBackoffMs (default 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called on every restart after an error (for metrics). */
  onRestart?: () => void;
  /** Called with every LIST or watch error before the retry (e.g. a 404: the resource's CRD is gone). */
  onError?: (err: unknown) => void;
  /**
   * A first LIST answered 404 (the kind's CRD is not installed) counts as an empty cache, so what waits for it is not
   * held up; the LIST is retried and fills the cache once the CRD appears. For optional kinds (account sets).
   */
  absentIsEmpty?: boolean;
  /** LIST page size. Default 500. */
  pageSize?: number;
  /**
   * Server-side watch timeout, seconds. The server sends a bookmark 2 s before it, so even a quiet scope resumes from
   * a fresh resourceVersion. Default 20-27 s: below client-node's 30 s inactivity timeout, which is not settable.
   */
  watchTimeoutSeconds?: () => number;
}

type WatchEnd = 'closed' | 'expired';

/** One namespace (or all) with its own cache and list/watch loop. */
class Scope<T extends Cached> {
  readonly name: string;
  readonly objects = new Map<string, T>();
  listed = false;
  resourceVersion = '';
  readonly #namespace: string | undefined;
  readonly #o: InformerOptions<T>;
  readonly #watch: Watch;
  #stop = new AbortController();
  #request: AbortController | undefined;
  #running: Promise<void> | undefined;
  #listedWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(kc: KubeConfig, namespace: string | undefined, o: InformerOptions<T>) {
    this.#namespace = namespace;
    this.name = namespace ?? '(all namespaces)';
    this.#o = o;
    this.#watch = new Watch(o.watchAccept === undefined ? kc : withAccept(kc, o.watchAccept));
  }

  start(): Promise<void> {
    if (this.#running === undefined) {
      this.#stop = new AbortController();
      this.#running = this.#run();
    }
    if (this.listed) return Promise.resolve();
    return new Promise((resolve, reject) => this.#listedWaiters.push({ resolve, reject }));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#request?.abort();
    for (const w of this.#listedWaiters.splice(0))
      w.reject(new Error(`${this.#o.kind} informer for ${this.name} stopped before its first LIST`));
    await this.#running;
    this.#running = undefined;
  }

  async #run(): Promise<void> {
    const initialMs = this.#o.initialBackoffMs ?? 1_000;
    let backoffMs = initialMs;
    let relist = !this.listed;
    while (!this.#stop.signal.aborted) {
      try {
        if (relist) await this.#relist();
        relist = false;
        relist = await this.#watchCycle(backoffMs);
        backoffMs = initialMs; // the watch worked
      } catch (err: unknown) {
        if (this.#stop.signal.aborted) return;
        this.#safely(() => this.#o.onError?.(err));
        if (this.#o.absentIsEmpty && !this.listed && httpStatusOf(err) === 404) this.#replace(new Map(), '');
        this.#o.log.warn(
          { scope: this.name, err: describeApiError(err), retryInMs: backoffMs },
          `${this.#o.kind} informer stopped on an error; restarting`,
        );
        await pause(backoffMs, this.#stop.signal);
        backoffMs = Math.min(backoffMs * 2, this.#o.maxBackoffMs ?? 5_000);
        if (!this.#stop.signal.aborted) this.#safely(() => this.#o.onRestart?.());
      }
    }
  }

  /** One watch until the server ends it; returns whether the next cycle must relist (the watch expired). */
  async #watchCycle(quietPauseMs: number): Promise<boolean> {
    const started = Date.now();
    let events = 0;
    const end = await this.#watchOnce(() => events++);
    if (end === 'expired') {
      const at = { scope: this.name, resourceVersion: this.resourceVersion };
      this.#o.log.info(at, `${this.#o.kind} watch expired (410 Gone); relisting`);
      return true;
    }
    // A watch the server ends at once with nothing in it must not become a hot loop.
    if (events === 0 && Date.now() - started < 1_000) await pause(quietPauseMs, this.#stop.signal);
    return false;
  }

  /** A paginated LIST; the cache is replaced (with events for each difference) only once every page arrived. */
  async #relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const page = await this.#o.listPage(this.#namespace, {
        limit: this.#o.pageSize ?? 500,
        ...(token === undefined ? {} : { continue: token }),
      });
      for (const item of page.items ?? []) {
        const kept = this.#o.keep(item);
        fresh.set(keyOf(kept), kept);
      }
      // Every page of a paginated LIST is one snapshot; the first page's resourceVersion is the snapshot's.
      resourceVersion ||= page.metadata?.resourceVersion ?? '';
      token = page.metadata?.continue || undefined;
    } while (token !== undefined && !this.#stop.signal.aborted);
    if (!this.#stop.signal.aborted) this.#replace(fresh, resourceVersion);
  }

  #replace(fresh: Map<string, T>, resourceVersion: string): void {
    const initial = !this.listed;
    for (const [key, old] of this.objects) if (!fresh.has(key)) this.#remove(old);
    for (const obj of fresh.values()) this.#upsert(obj, initial);
    this.resourceVersion = resourceVersion;
    this.listed = true;
    for (const w of this.#listedWaiters.splice(0)) w.resolve();
  }

  /** Watches from the cache's resourceVersion until the server closes the watch (or it expires); throws on errors. */
  #watchOnce(onEvent: () => void): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve, reject) => {
      let expired = false;
      const query = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.#o.watchTimeoutSeconds?.() ?? 20 + Math.floor(Math.random() * 8),
        ...(this.#o.labelSelector ? { labelSelector: this.#o.labelSelector } : {}),
      };
      const handle = (phase: string, obj: T & { code?: number }) => {
        onEvent();
        if (this.#apply(phase, obj)) expired = true;
      };
      const done = (err: unknown) => {
        this.#request = undefined;
        if (err === null || err === undefined || this.#stop.signal.aborted) resolve(expired ? 'expired' : 'closed');
        else if (httpStatusOf(err) === 410) resolve('expired');
        else if ((err as { name?: unknown }).name === 'TimeoutError') resolve('closed');
        else reject(err);
      };
      // A failing re-authentication (exec plugin, token or CA file) rejects here: a watch error like any other.
      this.#watch.watch(this.#o.watchPath(this.#namespace), query, handle, done).then((request) => {
        this.#request = request;
        if (this.#stop.signal.aborted) request.abort();
      }, reject);
    });
  }

  /** Applies one watch event to the cache; true when it says the watch expired (410 Gone). */
  #apply(phase: string, obj: T & { code?: number }): boolean {
    if (phase === 'ERROR') return obj.code === 410;
    if (phase === 'ADDED' || phase === 'MODIFIED') this.#upsert(this.#o.keep(obj), false);
    else if (phase === 'DELETED') {
      const cached = this.objects.get(keyOf(obj));
      if (cached !== undefined) this.#remove(cached);
    }
    // BOOKMARK events carry only a resourceVersion: what the next watch resumes from.
    this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
    return false;
  }

  #upsert(obj: T, initial: boolean): void {
    const key = keyOf(obj);
    const old = this.objects.get(key);
    this.objects.set(key, obj);
    if (old === undefined) this.#emit({ type: 'added', obj, initial });
    else if (old.metadata?.uid !== obj.metadata?.uid) {
      // Deleted and re-created under the same name while we were not watching: two events, not an update.
      this.#emit({ type: 'deleted', obj: old, initial: false });
      this.#emit({ type: 'added', obj, initial: false });
    } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
      this.#emit({ type: 'updated', obj, old, initial: false });
  }

  #remove(obj: T): void {
    this.objects.delete(keyOf(obj));
    this.#emit({ type: 'deleted', obj, initial: false });
  }

  #emit(event: InformerEvent<T>): void {
    this.#safely(() => this.#o.onEvent(event));
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err: unknown) {
      this.#o.log.error(
        { err: err instanceof Error ? err.message : String(err) },
        `${this.#o.kind} informer handler threw; event dropped`,
      );
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    // A retry alone does not keep the process alive (the Manager does, until a signal).
    const timer = setTimeout(done, ms).unref();
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The kubeconfig as Watch uses it, with an Accept header on every watch request. */
function withAccept(kc: KubeConfig, accept: string): KubeConfig {
  return new Proxy(kc, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop !== 'applySecurityAuthentication') return typeof value === 'function' ? value.bind(target) : value;
      return async (ctx: RequestContext) => {
        await target.applySecurityAuthentication(ctx);
        ctx.setHeaderParam('Accept', accept);
      };
    },
  });
}

/** A supervised, multi-scope cache of one kind. */
export class Informer<T extends Cached> {
  readonly name: string;
  readonly #scopes: Scope<T>[];
  readonly #byNamespace = new Map<string, Scope<T>>();

  constructor(kc: KubeConfig, options: InformerOptions<T>) {
    this.name = options.kind;
    if (options.namespaces === 'all') this.#scopes = [new Scope(kc, undefined, options)];
    else {
      this.#scopes = [...new Set(options.namespaces)].map((ns) => new Scope(kc, ns, options));
      for (const s of this.#scopes) this.#byNamespace.set(s.name, s);
    }
  }

  /**
   * Starts every scope; resolves once each holds its first LIST (failed LISTs are retried with backoff, forever).
   * Rejects only when stop() comes first.
   */
  async start(): Promise<void> {
    await Promise.all(this.#scopes.map((s) => s.start()));
  }

  /** Stops every watch and pending retry. The cache keeps its last contents. */
  async stop(): Promise<void> {
    await Promise.all(this.#scopes.map((s) => s.stop()));
  }

  /** True once every scope holds its first LIST (at once when there is nothing to watch). */
  synced(): boolean {
    return this.#scopes.every((s) => s.listed);
  }

  get(key: string): T | undefined {
    const scope =
      this.#byNamespace.size === 0 ? this.#scopes[0] : this.#byNamespace.get(key.slice(0, key.indexOf('/')));
    return scope?.objects.get(key);
  }

  list(): T[] {
    return this.#scopes.flatMap((s) => [...s.objects.values()]);
  }

  keys(): string[] {
    return this.#scopes.flatMap((s) => [...s.objects.keys()]);
  }

  /** Each scope's resourceVersion (what its next watch resumes from). */
  resourceVersions(): Record<string, string> {
    return Object.fromEntries(this.#scopes.map((s) => [s.name, s.resourceVersion]));
  }
}

/** A typed layer over one Informer (the ImageShare and Secret informers): its life cycle is the informer's own. */
export abstract class InformerLayer<T extends Cached> {
  protected abstract readonly informer: Informer<T>;

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** True once every scope holds its first LIST (at once when there is nothing to watch). */
  synced(): boolean {
    return this.informer.synced();
  }
}
