// Keeps the credentials of a pending cleanup resolvable (issue #8, ADR 0022), the way Crossplane's usage tracking
// does: while an ImageShare carries the cleanup finalizer (ecs.alicloud.dev/cleanup: a Revoke cleanup may still run)
// and names a Secret in spec.credentials.secretRef, that Secret carries CREDENTIALS_IN_USE_FINALIZER, so deleting the
// whole namespace (which deletes Secret and ImageShare together) cannot remove the credentials before the revoke ran.
// Once no such ImageShare refers to the Secret any more, the finalizer is removed and a pending deletion completes.
//
// A small independent controller with its own queue of Secret keys, fed by both informers. It runs only on the
// leader, and only once both caches synced (a half-listed cache would remove finalizers that are still needed).
import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { FINALIZER, type ImageShare } from '../api/types.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { describeApiError } from './api-errors.ts';
import type { SecretMeta } from './secret-informer.ts';

export const CREDENTIALS_IN_USE_FINALIZER = 'ecs.alicloud.dev/credentials-in-use';

/** The Secret key (`namespace/name`) `obj` needs kept for its cleanup, or undefined. Pure. */
export function secretNeededBy(obj: ImageShare): string | undefined {
  const name = obj.spec?.credentials?.secretRef?.name;
  if (name === undefined || name === '' || !(obj.metadata.finalizers ?? []).includes(FINALIZER)) return undefined;
  return `${obj.metadata.namespace}/${name}`;
}

/** Keys of the ImageShares whose spec.credentials.secretRef names `secretKey` (whatever their finalizers). Pure. */
export function imageSharesReferring(objects: readonly ImageShare[], secretKey: string): string[] {
  return objects
    .filter((o) => `${o.metadata.namespace}/${o.spec?.credentials?.secretRef?.name ?? ''}` === secretKey)
    .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
}

/** What the Secret should carry, given the cache. Pure: 'add', 'remove' or undefined (nothing to do). */
export function finalizerAction(secret: SecretMeta | undefined, needed: boolean): 'add' | 'remove' | undefined {
  if (secret === undefined) return undefined;
  const has = (secret.metadata?.finalizers ?? []).includes(CREDENTIALS_IN_USE_FINALIZER);
  // The apiserver refuses new finalizers on an object being deleted: too late to protect it.
  if (needed && !has && secret.metadata?.deletionTimestamp === undefined) return 'add';
  if (!needed && has) return 'remove';
  return undefined;
}

/** Writes the finalizer on a Secret; both calls are conditioned on the resourceVersion the cache showed. */
export interface SecretFinalizerWriter {
  add(secret: SecretMeta): Promise<void>;
  remove(secret: SecretMeta): Promise<void>;
}

/** JSON Patch with a `test` of metadata.resourceVersion, so a stale cache makes the write fail (409/422) and retry. */
export class KubeSecretFinalizers implements SecretFinalizerWriter {
  readonly #api: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CoreV1Api);
  }

  async add(secret: SecretMeta): Promise<void> {
    const finalizers = secret.metadata?.finalizers;
    const op =
      finalizers === undefined || finalizers.length === 0
        ? { op: 'add', path: '/metadata/finalizers', value: [CREDENTIALS_IN_USE_FINALIZER] }
        : { op: 'add', path: '/metadata/finalizers/-', value: CREDENTIALS_IN_USE_FINALIZER };
    await this.#patch(secret, [op]);
  }

  async remove(secret: SecretMeta): Promise<void> {
    const index = (secret.metadata?.finalizers ?? []).indexOf(CREDENTIALS_IN_USE_FINALIZER);
    if (index < 0) return;
    const path = `/metadata/finalizers/${index}`;
    await this.#patch(secret, [
      { op: 'test', path, value: CREDENTIALS_IN_USE_FINALIZER },
      { op: 'remove', path },
    ]);
  }

  async #patch(secret: SecretMeta, ops: object[]): Promise<void> {
    const name = secret.metadata?.name ?? '';
    const namespace = secret.metadata?.namespace ?? '';
    const body = [
      { op: 'test', path: '/metadata/resourceVersion', value: secret.metadata?.resourceVersion ?? '' },
      ...ops,
    ];
    try {
      await this.#api.patchNamespacedSecret(
        { name, namespace, body },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
    } catch (err: unknown) {
      throw new Error(`patching finalizers of Secret ${namespace}/${name} failed: ${describeApiError(err)}`, {
        cause: err,
      });
    }
  }
}

export interface CredentialsInUseLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface CredentialsInUseOptions {
  imageShares: { get(key: string): ImageShare | undefined; list(): ImageShare[] };
  secrets: { get(key: string): SecretMeta | undefined; keys(): string[] };
  writer: SecretFinalizerWriter;
  log: CredentialsInUseLogger;
  /** Namespaces whose Secrets this controller may touch (the Secret informer's scope). */
  allowed: (namespace: string) => boolean;
}

export class CredentialsInUseController {
  /** Secret keys to look at. Filled by the informers from the start; worked on only by run(). */
  readonly queue = new WorkQueue();
  readonly #opts: CredentialsInUseOptions;
  /** The Secret each ImageShare needed when last seen, so a change of secretRef or finalizers re-checks the old one. */
  readonly #needed = new Map<string, string>();

  constructor(options: CredentialsInUseOptions) {
    this.#opts = options;
  }

  /** An ImageShare changed (or went away): re-check the Secret it needs now and the one it needed before. */
  onImageShareKey(key: string): void {
    const before = this.#needed.get(key);
    const obj = this.#opts.imageShares.get(key);
    const now = obj === undefined ? undefined : secretNeededBy(obj);
    if (now === undefined) this.#needed.delete(key);
    else this.#needed.set(key, now);
    for (const s of new Set([before, now])) if (s !== undefined) this.#enqueue(s);
  }

  /** A Secret changed: re-check it. */
  onSecretKey(key: string): void {
    this.#enqueue(key);
  }

  /** Runs one worker until the queue shuts down; first re-checks every cached Secret and every needed one. */
  run(): Promise<void> {
    for (const key of this.#opts.secrets.keys()) this.#enqueue(key);
    for (const obj of this.#opts.imageShares.list())
      this.onImageShareKey(`${obj.metadata.namespace}/${obj.metadata.name}`);
    return this.queue.run((key) => this.#sync(key), 1);
  }

  async #sync(key: string): Promise<undefined> {
    const needed = this.#opts.imageShares.list().some((o) => secretNeededBy(o) === key);
    const secret = this.#opts.secrets.get(key);
    const action = finalizerAction(secret, needed);
    if (action === undefined || secret === undefined) return undefined;
    await this.#opts.writer[action](secret);
    this.#opts.log.info(
      { secret: key, action },
      action === 'add' ? 'Secret marked in use by a pending cleanup' : 'Secret no longer needed by a cleanup',
    );
    return undefined;
  }

  #enqueue(secretKey: string): void {
    if (this.#opts.allowed(secretKey.slice(0, secretKey.indexOf('/')))) this.queue.add(secretKey);
  }
}
