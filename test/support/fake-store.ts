// An in-memory ImageShareStore with apiserver-like bookkeeping (resourceVersion, generation, finalizers, uid), for
// unit tests of the reconciler and the model-based safety test. Its writes follow the concurrency story of the real
// client (src/kube/imageshare-client.ts): addFinalizer is a merge patch conditioned on resourceVersion that re-reads
// and retries on 409 (3 attempts, then an error, as the real client throws); removeFinalizer tests the entry at its index; patchStatus is
// pinned to the uid and, with versionedStatus, to the resourceVersion (409 → 'conflict'). Every request goes through
// `client(gate)`'s gate, so a test can crash or interleave between the attempts of one method, as between two HTTP
// requests. The real store is tested against kube-apiserver in test/integration/.
import {
  API_VERSION,
  FINALIZER,
  type ImageShare,
  type ImageShareSpec,
  type ImageShareStatus,
  KIND,
} from '../../src/api/types.ts';
import { mergePatchDiff } from '../../src/kube/imageshare-client.ts';
import type { ImageShareStore } from '../../src/reconcile/reconcile.ts';

/** Runs one apiserver request (a test hook: crash before/after it, interleave other writes). */
export type StoreGate = <T>(request: () => T) => Promise<T>;
const direct: StoreGate = async (request) => request();

/** What a store change looked like afterwards (undefined: the object is gone), for a model of the watch. */
export type StoreEvent = { key: string; object: ImageShare | undefined };

export class FakeStore implements ImageShareStore {
  readonly objects = new Map<string, ImageShare>();
  statusWrites = 0;
  /** 409s (stale resourceVersion) and 422s (a failed JSON Patch test) answered to conditional writes. */
  conflicts = 0;
  /**
   * Status writes conditioned on the resourceVersion the caller read ('conflict' when it moved, the new
   * resourceVersion on success), for a store interface whose patchStatus answers that way. Off: uid-pinned only.
   */
  versionedStatus = false;
  /** Called after every change, with a copy of the object as it is now (the apiserver's watch stream). */
  onChange: ((e: StoreEvent) => void) | undefined;
  private rv = 0;
  private readonly uids = new Set<string>();
  private readonly defaultClient = this.client(direct);

  create(
    name: string,
    spec: ImageShareSpec,
    opts: { namespace?: string; createdAt?: string; uid?: string } = {},
  ): ImageShare {
    const namespace = opts.namespace ?? 'default';
    const obj: ImageShare = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name,
        namespace,
        uid: opts.uid ?? this.freshUid(`uid-${name}-${namespace}`),
        generation: 1,
        resourceVersion: String(++this.rv),
        creationTimestamp: opts.createdAt ?? '2026-01-01T00:00:00Z',
      },
      spec: structuredClone(spec),
    };
    this.objects.set(`${namespace}/${name}`, obj);
    this.changed(namespace, name);
    return structuredClone(obj);
  }

  /** A merge-style edit of some spec fields (like `kubectl patch --type merge`). */
  updateSpec(name: string, patch: Partial<ImageShareSpec>, namespace = 'default'): void {
    this.replaceSpec(name, { ...this.must(namespace, name).spec, ...patch }, namespace);
  }

  /** Replaces the whole spec (like `kubectl apply` of a new manifest): absent fields are gone. */
  replaceSpec(name: string, spec: ImageShareSpec, namespace = 'default'): void {
    const obj = this.must(namespace, name);
    obj.spec = structuredClone(spec);
    obj.metadata.generation = (obj.metadata.generation ?? 0) + 1;
    obj.metadata.resourceVersion = String(++this.rv);
    this.changed(namespace, name);
  }

  delete(name: string, namespace = 'default'): void {
    const obj = this.must(namespace, name);
    if (obj.metadata.finalizers?.length) {
      if (obj.metadata.deletionTimestamp) return;
      obj.metadata.deletionTimestamp = '2026-01-02T00:00:00Z';
      obj.metadata.generation = (obj.metadata.generation ?? 0) + 1;
      obj.metadata.resourceVersion = String(++this.rv);
    } else this.objects.delete(`${namespace}/${name}`);
    this.changed(namespace, name);
  }

  get(namespace: string, name: string): Promise<ImageShare | null> {
    return this.defaultClient.get(namespace, name);
  }

  addFinalizer(obj: ImageShare): Promise<ImageShare> {
    return this.defaultClient.addFinalizer(obj);
  }

  removeFinalizer(obj: ImageShare): Promise<void> {
    return this.defaultClient.removeFinalizer(obj);
  }

  patchStatus(obj: ImageShare, status: ImageShareStatus): ReturnType<ImageShareStore['patchStatus']> {
    return this.defaultClient.patchStatus(obj, status);
  }

  claimants(regionId: string, imageId: string): ImageShare[] {
    return this.list().filter((o) => o.spec.regionId === regionId && o.spec.imageId === imageId);
  }

  /**
   * The store as one client sees it: every apiserver request runs through `gate`, and `claimants` comes from
   * `cache` (an informer's view, which may lag) when given.
   */
  client(gate: StoreGate, cache?: (regionId: string, imageId: string) => ImageShare[]): ImageShareStore {
    const store: ImageShareStore = {
      get: (namespace, name) => gate(() => this.read(namespace, name)),
      addFinalizer: async (obj) => {
        // As ImageShareClient.addFinalizer: a merge patch of the finalizer list conditioned on resourceVersion.
        let current: ImageShare | null = obj;
        for (let attempt = 0; attempt < 3 && current !== null; attempt++) {
          const seen: ImageShare = current;
          if (seen.metadata.finalizers?.includes(FINALIZER)) return seen;
          const out = await gate(() => this.mergeFinalizers(seen, [...(seen.metadata.finalizers ?? []), FINALIZER]));
          if (out !== 409) return out;
          current = await gate(() => this.read(seen.metadata.namespace, seen.metadata.name));
        }
        if (current === null)
          throw new ObjectGoneError(`add finalizer to ImageShare ${keyOf(obj)} failed: the object is gone`);
        throw new FinalizerConflict(`finalizer list of ImageShare ${keyOf(obj)} kept changing; retry`);
      },
      removeFinalizer: async (obj) => {
        // As ImageShareClient.removeFinalizer: JSON Patch test + remove at our entry's index.
        let current: ImageShare | null = obj;
        for (let attempt = 0; attempt < 3 && current !== null; attempt++) {
          const seen: ImageShare = current;
          const index = (seen.metadata.finalizers ?? []).indexOf(FINALIZER);
          if (index < 0) return;
          const out = await gate(() => this.removeAt(seen, index));
          if (out !== 422) return;
          current = await gate(() => this.read(seen.metadata.namespace, seen.metadata.name));
        }
        if (current === null) return;
        throw new FinalizerConflict(`finalizer list of ImageShare ${keyOf(obj)} kept changing; retry`);
      },
      patchStatus: async (obj, status) => {
        // As ImageShareClient: no request at all when the status is what the caller read.
        if (this.versionedStatus && mergePatchDiff((obj.status ?? {}) as Json, status as unknown as Json) === undefined)
          return { resourceVersion: obj.metadata.resourceVersion ?? '' };
        return (await gate(() => this.writeStatus(obj, status))) as Awaited<ReturnType<ImageShareStore['patchStatus']>>;
      },
      claimants: (regionId, imageId) => (cache ?? ((r, i) => this.claimants(r, i)))(regionId, imageId),
    };
    // A fresh LIST (one apiserver request), for a reconciler that decides ownership from the apiserver rather than
    // the cache before its first write; a store interface without it simply never calls it.
    return Object.assign(store, {
      listClaimants: (regionId: string, imageId: string) => gate(() => this.claimants(regionId, imageId)),
    });
  }

  /** A foreign write that moves the resourceVersion (e.g. Argo CD adding a label). */
  touch(name: string, namespace = 'default'): void {
    const cur = this.must(namespace, name);
    cur.metadata.labels = { ...(cur.metadata.labels ?? {}), touched: String(this.rv) };
    cur.metadata.resourceVersion = String(++this.rv);
    this.changed(namespace, name);
  }

  /** Another controller adds (or removes) its own finalizer: the list moves under ours. */
  foreignFinalizer(name: string, namespace = 'default', present = true): void {
    const cur = this.must(namespace, name);
    const other = 'example.com/other';
    const rest = (cur.metadata.finalizers ?? []).filter((f) => f !== other);
    cur.metadata.finalizers = present ? [other, ...rest] : rest;
    cur.metadata.resourceVersion = String(++this.rv);
    if (cur.metadata.deletionTimestamp && cur.metadata.finalizers.length === 0)
      this.objects.delete(`${namespace}/${name}`);
    this.changed(namespace, name);
  }

  list(): ImageShare[] {
    return [...this.objects.values()].map((o) => structuredClone(o));
  }

  must(namespace: string, name: string): ImageShare {
    const obj = this.objects.get(`${namespace}/${name}`);
    if (!obj) throw new Error(`no object ${namespace}/${name}`);
    return obj;
  }

  /** `base`, or `base-2`, `base-3`… for a namesake re-created after a deletion (a new uid, as the apiserver gives). */
  private freshUid(base: string): string {
    let uid = base;
    for (let n = 2; this.uids.has(uid); n++) uid = `${base}-${n}`;
    this.uids.add(uid);
    return uid;
  }

  // ---- single apiserver requests ----

  private read(namespace: string, name: string): ImageShare | null {
    const obj = this.objects.get(`${namespace}/${name}`);
    return obj ? structuredClone(obj) : null;
  }

  /** A merge patch of metadata.finalizers with the resourceVersion the caller read: 409 when it moved. */
  private mergeFinalizers(obj: ImageShare, finalizers: string[]): ImageShare | 409 {
    const cur = this.objects.get(keyOf(obj));
    if (!cur || cur.metadata.uid !== obj.metadata.uid) {
      // A patch carrying a resourceVersion of an object that is gone is a 409 (or 404); the caller re-reads.
      this.conflicts++;
      return 409;
    }
    if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      this.conflicts++;
      return 409;
    }
    // The apiserver refuses to add finalizers to an object being deleted only for new ones; ours may be re-added.
    cur.metadata.finalizers = finalizers;
    cur.metadata.resourceVersion = String(++this.rv);
    this.changed(cur.metadata.namespace, cur.metadata.name);
    return structuredClone(cur);
  }

  /** JSON Patch `test /metadata/finalizers/i == FINALIZER` then `remove`: 422 when the entry moved. */
  private removeAt(obj: ImageShare, index: number): ImageShare | 422 | 404 {
    const cur = this.objects.get(keyOf(obj));
    if (!cur || cur.metadata.uid !== obj.metadata.uid) return 404;
    if ((cur.metadata.finalizers ?? [])[index] !== FINALIZER) {
      this.conflicts++;
      return 422;
    }
    cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((_, i) => i !== index);
    cur.metadata.resourceVersion = String(++this.rv);
    if (cur.metadata.deletionTimestamp && cur.metadata.finalizers.length === 0) this.objects.delete(keyOf(obj));
    this.changed(obj.metadata.namespace, obj.metadata.name);
    return structuredClone(cur);
  }

  /** Status writes: pinned to the uid (and, when versionedStatus, to the resourceVersion); 'gone' when deleted. */
  private writeStatus(
    obj: ImageShare,
    status: ImageShareStatus,
  ): 'ok' | 'gone' | 'conflict' | { resourceVersion: string } {
    const cur = this.objects.get(keyOf(obj));
    if (!cur || cur.metadata.uid !== obj.metadata.uid) return 'gone';
    if (this.versionedStatus && cur.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      this.conflicts++;
      return 'conflict';
    }
    cur.status = structuredClone(status);
    cur.metadata.resourceVersion = String(++this.rv);
    this.statusWrites++;
    this.changed(cur.metadata.namespace, cur.metadata.name);
    return this.versionedStatus ? { resourceVersion: cur.metadata.resourceVersion } : 'ok';
  }

  private changed(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const obj = this.objects.get(key);
    this.onChange?.({ key, object: obj ? structuredClone(obj) : undefined });
  }
}

/** A write to an object that no longer exists (the real client wraps the 404 in an Error). */
export class ObjectGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectGoneError';
  }
}

type Json = Parameters<typeof mergePatchDiff>[0];

const keyOf = (o: ImageShare) => `${o.metadata.namespace}/${o.metadata.name}`;

/** What the fake throws where the real client gives up on a finalizer list that keeps changing (a plain Error there). */
export class FinalizerConflict extends Error {}
