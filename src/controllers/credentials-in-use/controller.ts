// Keeps the credentials of a pending cleanup resolvable (issue #8, ADR 0022), the way Crossplane's usage tracking
// does: while an ImageShare carries the cleanup finalizer (ecs.alicloud.dev/cleanup: a Revoke cleanup may still run)
// and names a Secret in spec.credentials.secretRef, that Secret carries CREDENTIALS_IN_USE_FINALIZER, so deleting the
// whole namespace (which deletes Secret and ImageShare together) cannot remove the credentials before the revoke ran.
// Once no such ImageShare refers to the Secret any more, the finalizer is removed and a pending deletion completes.
//
// A small independent controller with its own queue of Secret keys, fed by both informers. It runs only on the
// leader (events before that are dropped: run() re-checks everything), and only once both caches listed.
import { FINALIZER, type ImageShare } from '../../api/types.ts';
import { CREDENTIALS_IN_USE_FINALIZER, type SecretFinalizerWriter } from '../../kube/secret-finalizer.ts';
import type { SecretMeta } from '../../kube/secret-informer.ts';
import type { SyncedCache } from '../../runtime/cache-sync.ts';
import type { Log } from '../../runtime/logger.ts';
import { QueuedRunnable } from '../../runtime/manager.ts';

/** The Secret key (`namespace/name`) `obj` needs kept for its cleanup, or undefined. Pure. */
export function secretNeededBy(obj: ImageShare): string | undefined {
  const name = obj.spec?.credentials?.secretRef?.name;
  if (name === undefined || name === '' || !(obj.metadata.finalizers ?? []).includes(FINALIZER)) return undefined;
  return `${obj.metadata.namespace}/${name}`;
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

export interface CredentialsInUseOptions {
  imageShares: { get(key: string): ImageShare | undefined; list(): ImageShare[] };
  secrets: { get(key: string): SecretMeta | undefined; keys(): string[] };
  writer: SecretFinalizerWriter;
  log: Pick<Log, 'info' | 'warn'>;
  /** Namespaces whose Secrets this controller may touch (the Secret informer's scope). */
  allowed: (namespace: string) => boolean;
  /** The caches it decides from; a half-listed one would remove finalizers still needed. Default none. */
  caches?: readonly SyncedCache[];
}

export class CredentialsInUseController extends QueuedRunnable {
  readonly name = 'credentials-in-use';
  readonly caches: readonly SyncedCache[];
  readonly #opts: CredentialsInUseOptions;
  #running = false;
  /** The Secret each ImageShare needed when last seen, so a change of secretRef or finalizers re-checks the old one. */
  readonly #needed = new Map<string, string>();

  constructor(options: CredentialsInUseOptions) {
    super();
    this.#opts = options;
    this.caches = options.caches ?? [];
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
    this.#running = true;
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
    if (this.#running && this.#opts.allowed(secretKey.slice(0, secretKey.indexOf('/')))) this.queue.add(secretKey);
  }
}
