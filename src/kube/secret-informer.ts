// The Secret layer on the supervised informer (informer.ts): the Secrets that spec.credentials.secretRef may name
// (--secret-namespaces ∩ watched namespaces), for the credentials-in-use finalizer and to retry the ImageShares that
// name a Secret when it changes. The LIST and WATCH ask the apiserver for metadata only (PartialObjectMetadata), so
// no Secret value ever reaches this process through them; annotations (kubectl's last-applied-configuration holds
// the data) and managedFields are dropped too. A data change is seen by a targeted GET (secret-data.ts).
import { CoreV1Api, type KubeConfig, setHeaderOptions, type V1ObjectMeta } from '@kubernetes/client-node';
import type { Log } from '../runtime/logger.ts';
import { Informer, type InformerEvent, keyOf } from './informer.ts';

/** A Secret as cached: name, namespace, uid, resourceVersion, finalizers, deletionTimestamp. Never a value. */
export interface SecretMeta {
  metadata?: Pick<
    V1ObjectMeta,
    'name' | 'namespace' | 'uid' | 'resourceVersion' | 'finalizers' | 'deletionTimestamp' | 'generation'
  >;
}

const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface SecretInformerOptions {
  /** Namespaces to watch; 'all' = one cluster-wide watch. An empty list watches nothing (synced at once). */
  namespaces: 'all' | readonly string[];
  /** Every change of the cache: `namespace/name`, and whether the Secret was created, changed or deleted. */
  onKey: (key: string, event: { type: InformerEvent<SecretMeta>['type']; initial: boolean }) => void;
  log: Log;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  pageSize?: number;
  watchTimeoutSeconds?: () => number;
}

/** Keeps the metadata a controller reads and nothing else (the apiserver sent no data; this drops annotations). */
function keep(s: SecretMeta): SecretMeta {
  const m = s.metadata ?? {};
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.finalizers === undefined ? {} : { finalizers: m.finalizers }),
      ...(m.deletionTimestamp === undefined ? {} : { deletionTimestamp: m.deletionTimestamp }),
    },
  } as SecretMeta;
}

export class SecretInformer {
  readonly name = 'Secret';
  readonly #informer: Informer<SecretMeta & { apiVersion?: string; kind?: string }>;

  constructor(kc: KubeConfig, options: SecretInformerOptions) {
    const api = kc.makeApiClient(CoreV1Api);
    const metadataOnly = setHeaderOptions('Accept', METADATA_LIST);
    this.#informer = new Informer(kc, {
      ...options,
      kind: 'Secret',
      listPage: async (namespace, { limit, continue: token }) => {
        const page = { limit, ...(token === undefined ? {} : { _continue: token }) };
        const list =
          namespace === undefined
            ? await api.listSecretForAllNamespaces(page, metadataOnly)
            : await api.listNamespacedSecret({ namespace, ...page }, metadataOnly);
        // The typed client names the continue token `_continue`.
        const { resourceVersion, _continue } = list.metadata ?? {};
        return { items: list.items, metadata: { resourceVersion, continue: _continue } };
      },
      watchPath: (namespace) =>
        namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${namespace}/secrets`,
      watchAccept: METADATA,
      keep,
      onEvent: ({ type, obj, initial }) => options.onKey(keyOf(obj), { type, initial }),
    });
  }

  start(): Promise<void> {
    return this.#informer.start();
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  /** True once every scope holds its first LIST (at once when there is nothing to watch). */
  synced(): boolean {
    return this.#informer.synced();
  }

  /** The cached Secret (metadata only) for `namespace/name`. */
  get(key: string): SecretMeta | undefined {
    return this.#informer.get(key);
  }

  keys(): string[] {
    return this.#informer.keys();
  }

  /** Every cached Secret (metadata only). */
  list(): SecretMeta[] {
    return this.#informer.list();
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
