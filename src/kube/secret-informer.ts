// Watches the Secrets that spec.credentials.secretRef may name (the --secret-namespaces ∩ watched namespaces), so
// that a restored, created or rotated Secret re-enqueues the ImageShares that refer to it at once instead of at the
// next resync, and so the credentials-in-use finalizer controller (secret-finalizer.ts) sees each Secret's
// finalizers. Only metadata is kept: `data` is dropped from every object as it enters the cache, so no credential
// sits in memory beyond the single GET that reads it (secret-credentials.ts).
//
// Supervised like the ImageShare informer: client-node's ListWatch stops for good on most errors, so each scope is
// restarted with capped exponential backoff, and synced() is true once every scope completed one LIST.
import { CoreV1Api, type KubeConfig, ListWatch, type V1Secret, Watch } from '@kubernetes/client-node';
import { describeApiError } from './api-errors.ts';

export interface SecretInformerLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SecretInformerOptions {
  /** Namespaces to watch; 'all' = one cluster-wide watch. An empty list watches nothing (synced at once). */
  namespaces: 'all' | readonly string[];
  /** Receives `namespace/name` of every added, changed or deleted Secret. Exceptions are caught and logged. */
  onKey: (key: string) => void;
  log: SecretInformerLogger;
  /** First restart delay after an error. Default 1000 ms; doubles up to maxBackoffMs (default 30 000 ms). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A Secret as cached: metadata only. */
export type SecretMeta = Omit<V1Secret, 'data' | 'stringData'>;

const keyOf = (s: SecretMeta) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

/** Drops the values in place (the cache holds this very object). */
function stripValues(s: V1Secret): SecretMeta {
  delete s.data;
  delete s.stringData;
  return s;
}

class Scope {
  readonly lw: ListWatch<V1Secret>;
  listed = false;
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs: number;
  readonly #opts: SecretInformerOptions;
  readonly #name: string;

  constructor(kc: KubeConfig, namespace: string | undefined, opts: SecretInformerOptions) {
    this.#opts = opts;
    this.#name = namespace ?? '(all namespaces)';
    this.#backoffMs = opts.initialBackoffMs ?? 1_000;
    const api = kc.makeApiClient(CoreV1Api);
    const path = namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${namespace}/secrets`;
    const listFn = async () => {
      const list =
        namespace === undefined
          ? await api.listSecretForAllNamespaces()
          : await api.listNamespacedSecret({ namespace });
      list.items.forEach(stripValues);
      this.listed = true;
      this.#backoffMs = opts.initialBackoffMs ?? 1_000;
      return list;
    };
    this.lw = new ListWatch<V1Secret>(path, new Watch(kc), listFn, false);
    const emit = (s: V1Secret) => this.#safely(() => opts.onKey(keyOf(stripValues(s))));
    this.lw.on('add', emit);
    this.lw.on('update', emit);
    this.lw.on('delete', emit);
    this.lw.on('error', (err: unknown) => this.#onError(err));
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.lw.start().catch((err: unknown) => this.#onError(err));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.lw.stop();
  }

  #onError(err: unknown): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(delay * 2, this.#opts.maxBackoffMs ?? 30_000);
    this.#opts.log.warn(
      { scope: this.#name, err: describeApiError(err), retryInMs: delay },
      'Secret informer stopped on an error; restarting',
    );
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#stopped) void this.start();
    }, delay);
    this.#timer.unref();
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err: unknown) {
      this.#opts.log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'Secret informer handler threw; event dropped',
      );
    }
  }
}

export class SecretInformer {
  readonly name = 'Secret';
  readonly #scopes: Scope[];

  constructor(kc: KubeConfig, options: SecretInformerOptions) {
    this.#scopes =
      options.namespaces === 'all'
        ? [new Scope(kc, undefined, options)]
        : [...new Set(options.namespaces)].map((ns) => new Scope(kc, ns, options));
  }

  /** Starts every scope; resolves after each made its first attempt. Never rejects (errors restart the scope). */
  async start(): Promise<void> {
    await Promise.all(this.#scopes.map((s) => s.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#scopes.map((s) => s.stop()));
  }

  /** True once every scope completed its first LIST (at once when there is nothing to watch). */
  synced(): boolean {
    return this.#scopes.every((s) => s.listed);
  }

  /** The cached Secret (metadata only) for `namespace/name`. */
  get(key: string): SecretMeta | undefined {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    for (const s of this.#scopes) {
      const hit = s.lw.get(name, namespace);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /** Keys of every cached Secret. */
  keys(): string[] {
    return this.#scopes.flatMap((s) => s.lw.list().map(keyOf));
  }
}

/**
 * The namespaces whose Secrets to watch: those where secretRef may be used (`allowed`) that the operator also
 * watches for ImageShares (`watched`, empty = all).
 */
export function secretScope(allowed: 'all' | readonly string[], watched: readonly string[]): 'all' | readonly string[] {
  if (allowed === 'all') return watched.length === 0 ? 'all' : watched;
  return watched.length === 0 ? allowed : allowed.filter((ns) => watched.includes(ns));
}
