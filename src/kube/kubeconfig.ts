// Where the operator's Kubernetes identity comes from, and the one connection pool every apiserver call shares.
//
// @kubernetes/client-node 2.0.1 builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication
// → createDispatcher), so every GET, PATCH, LIST and WATCH opens its own TCP + TLS connection and the old agents'
// sockets linger until garbage collection. PooledKubeConfig keeps the first dispatcher built for a (cluster, user,
// TLS material) and hands it to every later request, so requests ride one keep-alive connection set. The dispatchers
// upstream builds meanwhile are never used, so they open no socket. See docs/adr/0010-pooled-apiserver-connections.md.
import { createHash } from 'node:crypto';
import { type DispatcherOptions, KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { requestSignal } from '../runtime/request-signal.ts';

type Dispatcher = Parameters<RequestContext['setDispatcher']>[0];

interface PoolEntry {
  fingerprint: string;
  dispatcher: Dispatcher;
}

/**
 * A KubeConfig whose requests share one dispatcher per (cluster, user). When the TLS material changes (a rotated
 * client certificate or CA re-read from its file), the next request gets a fresh dispatcher and the old one is
 * closed gracefully (in-flight requests finish). Auth headers (bearer tokens, exec plugins) are still applied per
 * request by upstream, so token rotation is unaffected.
 */
export class PooledKubeConfig extends KubeConfig {
  /** Every request ends after this long, and when the reconcile pass it belongs to is aborted (request-signal.ts). */
  requestTimeoutMs = 30_000;
  readonly #pool = new Map<string, PoolEntry>();
  /** The options of the dispatcher upstream is building right now; set and consumed within one synchronous step. */
  #building: DispatcherOptions | undefined;

  override createDispatcherOptions(...args: Parameters<KubeConfig['createDispatcherOptions']>): DispatcherOptions {
    const options = super.createDispatcherOptions(...args);
    this.#building = options;
    return options;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    // Upstream computes the options and calls setDispatcher in one synchronous step after its last await, so the
    // options captured above belong to the dispatcher handed to setDispatcher here.
    const set = context.setDispatcher.bind(context);
    context.setDispatcher = (fresh: Dispatcher) => set(this.#pooled(fresh));
    try {
      await super.applySecurityAuthentication(context);
    } finally {
      Reflect.deleteProperty(context, 'setDispatcher');
    }
    // undici's default would wait 300 s for a stalled answer. (A watch brings its own signal and ignores this one.)
    if (context.getSignal() === undefined) context.setSignal(requestSignal(this.requestTimeoutMs));
  }

  /** Dispatchers held right now (one per cluster and user in use). */
  pooledDispatchers(): number {
    return this.#pool.size;
  }

  /** Closes every pooled dispatcher (for a clean shutdown or a test's teardown). */
  async closeConnections(): Promise<void> {
    const entries = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.all(entries.map((e) => e.dispatcher.close()));
  }

  #pooled(fresh: Dispatcher): Dispatcher {
    const options = this.#building;
    this.#building = undefined;
    if (options === undefined) return fresh; // not built through createDispatcherOptions: leave upstream's choice
    const key = JSON.stringify([this.getCurrentCluster()?.name ?? '', this.getCurrentUser()?.name ?? '']);
    const fingerprint = fingerprintOf(options);
    const entry = this.#pool.get(key);
    if (entry?.fingerprint === fingerprint) return entry.dispatcher;
    if (entry !== undefined) void entry.dispatcher.close().catch(() => undefined);
    this.#pool.set(key, { fingerprint, dispatcher: fresh });
    return fresh;
  }
}

/** A digest of the dispatcher's options (TLS material included), never the material itself. */
function fingerprintOf(options: DispatcherOptions): string {
  const json = JSON.stringify(options, (_key, value: unknown) => {
    if (Buffer.isBuffer(value)) return value.toString('base64');
    const asJson = value as { type?: unknown; data?: unknown } | undefined;
    if (asJson?.type === 'Buffer' && Array.isArray(asJson.data))
      return Buffer.from(asJson.data as number[]).toString('base64');
    return value;
  });
  return createHash('sha256').update(json).digest('hex');
}

/**
 * Copies `kc` into a PooledKubeConfig (same clusters, users, contexts and current context), for callers that built a
 * plain KubeConfig themselves (tests, tools).
 */
export function pooledCopy(kc: KubeConfig): PooledKubeConfig {
  const pooled = new PooledKubeConfig();
  pooled.loadFromOptions({
    clusters: kc.clusters,
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return pooled;
}

/**
 * Loads a kubeconfig: from `path` when given (e.g. a --kubeconfig flag), otherwise client-node's default chain:
 * $KUBECONFIG (a path list, merged) → ~/.kube/config → in-cluster service account (token file re-read as the
 * kubelet rotates it). Requests made through it share one pooled connection set. Throws when the file cannot be
 * read or parsed, or when no current cluster results.
 */
export function loadKubeConfig(path?: string): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  if (path !== undefined && path !== '') kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (kc.getCurrentCluster() === null) {
    throw new Error(`kubeconfig ${path ?? '(default chain)'} has no current cluster`);
  }
  return kc;
}
