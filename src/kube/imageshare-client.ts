// Reads and writes of ImageShare objects that the reconciler needs, each with a precise concurrency story:
//
// - patchStatus: a JSON Patch of /status: `test /metadata/uid` then `add /status` (ADR 0007). Not conditioned on
//   resourceVersion: the status holds this object's ownership record (managedAccounts, pendingWrites), and a version
//   lock made any label or spec edit during a pass throw that record away. Only the leader's single worker for a key
//   writes its status, so the status the pass computed is the whole truth; the uid test refuses a write to a
//   deleted-and-recreated namesake. A status computed from an older spec simply carries the older
//   observedGeneration, and the spec edit's own event runs the next pass. No request when nothing changed.
// - patchStatusIfUnchanged: the same, also conditioned on resourceVersion; the reconciler's writes use it and, on a
//   conflict, re-read and merge the ownership record another writer added (src/reconcile/reconcile.ts writeStatus).
// - addFinalizer: a merge patch of metadata.finalizers with resourceVersion (409 → ConflictError).
// - removeFinalizer: a JSON Patch `test` + `remove` at our finalizer's index: it removes exactly our entry and
//   fails (→ re-read and retry) if the list moved, so it never clobbers another controller's finalizer.
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { FINALIZER, GROUP, type ImageShare, type ImageShareStatus, PLURAL, VERSION } from '../api/types.ts';
import { ConflictError, describeApiError, httpStatusOf } from './api-errors.ts';

export const FIELD_MANAGER = 'imageshare-operator';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const keyOf = (obj: ImageShare) => `${obj.metadata.namespace}/${obj.metadata.name}`;

/** The ImageShare reads and writes the reconciler needs (adapted to its port by reconcile-store.ts). */
export class ImageShareClient {
  readonly #api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
  }

  /** A fresh GET (not the cache). Resolves null when the object does not exist; throws on other API errors. */
  async get(namespace: string, name: string): Promise<ImageShare | null> {
    try {
      return (await this.#api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as ImageShare;
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return null;
      throw apiError(err, `get ImageShare ${namespace}/${name}`);
    }
  }

  /**
   * Writes `status` through the /status subresource, pinned to obj's uid (JSON Patch `test` + `add /status`), not
   * to its resourceVersion. Resolves the updated object, `obj` unchanged when nothing differs from obj.status (no
   * request), or null when the object is gone (404, or another object now has the name). Throws a wrapped error
   * otherwise (e.g. a status the CRD's schema rejects).
   */
  async patchStatus(obj: ImageShare, status: ImageShareStatus): Promise<ImageShare | null> {
    if (mergePatchDiff((obj.status ?? {}) as Json, status as unknown as Json) === undefined) return obj;
    // JSON Patch: `test` pins the write to the uid the pass read (a merge patch cannot: /status ignores metadata).
    const body = [
      { op: 'test', path: '/metadata/uid', value: requireUid(obj) },
      { op: 'add', path: '/status', value: status },
    ];
    try {
      return (await this.#api.patchNamespacedCustomObjectStatus(
        { ...this.#ref(obj), body, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )) as ImageShare;
    } catch (err: unknown) {
      const code = httpStatusOf(err);
      if (code === 404) return null;
      // 422 is a failed `test` (another object now has this name) or an invalid status: tell them apart.
      if (
        code === 422 &&
        (await this.get(obj.metadata.namespace, obj.metadata.name))?.metadata.uid !== obj.metadata.uid
      )
        return null;
      throw apiError(err, `patch status of ImageShare ${keyOf(obj)}`);
    }
  }

  /**
   * Like patchStatus, but conditioned on obj's resourceVersion too (a `replace /metadata/resourceVersion`, which the
   * apiserver checks as a precondition): resolves 'conflict' when the object moved since obj was read, so the
   * caller can re-read and merge what another writer recorded instead of overwriting it.
   */
  async patchStatusIfUnchanged(obj: ImageShare, status: ImageShareStatus): Promise<ImageShare | null | 'conflict'> {
    if (mergePatchDiff((obj.status ?? {}) as Json, status as unknown as Json) === undefined) return obj;
    const body = [
      { op: 'test', path: '/metadata/uid', value: requireUid(obj) },
      { op: 'replace', path: '/metadata/resourceVersion', value: requireVersion(obj) },
      { op: 'add', path: '/status', value: status },
    ];
    try {
      return (await this.#api.patchNamespacedCustomObjectStatus(
        { ...this.#ref(obj), body, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )) as ImageShare;
    } catch (err: unknown) {
      const code = httpStatusOf(err);
      if (code === 404) return null;
      if (code === 409) return 'conflict';
      if (
        code === 422 &&
        (await this.get(obj.metadata.namespace, obj.metadata.name))?.metadata.uid !== obj.metadata.uid
      )
        return null;
      throw apiError(err, `patch status of ImageShare ${keyOf(obj)}`);
    }
  }

  /**
   * Adds FINALIZER (keeping every other finalizer) with a merge patch conditioned on resourceVersion; when another
   * writer moved the object first (409) it re-reads and retries, up to 3 times. No request when already present.
   * Throws ConflictError when the object kept changing, and a wrapped error when it is gone.
   */
  async addFinalizer(obj: ImageShare): Promise<ImageShare> {
    let current: ImageShare | null = obj;
    for (let attempt = 0; attempt < 3 && current !== null; attempt++) {
      const finalizers = current.metadata.finalizers ?? [];
      if (finalizers.includes(FINALIZER)) return current;
      const body = { metadata: { finalizers: [...finalizers, FINALIZER], resourceVersion: requireVersion(current) } };
      try {
        return (await this.#api.patchNamespacedCustomObject(
          { ...this.#ref(current), body, fieldManager: FIELD_MANAGER },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )) as ImageShare;
      } catch (err: unknown) {
        if (httpStatusOf(err) !== 409) throw apiError(err, `add finalizer to ImageShare ${keyOf(current)}`);
        current = await this.get(current.metadata.namespace, current.metadata.name);
      }
    }
    if (current === null) throw new Error(`add finalizer to ImageShare ${keyOf(obj)} failed: the object is gone`);
    throw new ConflictError(keyOf(current), `finalizer list of ImageShare ${keyOf(current)} kept changing; retry`);
  }

  /**
   * Removes exactly FINALIZER with JSON Patch test+remove at its index. If another writer moved the list, the test
   * fails; it then re-reads and retries (up to 3 times) before throwing ConflictError. Resolves the object as
   * returned by the apiserver, or null when the object (or our finalizer) is already gone.
   */
  async removeFinalizer(obj: ImageShare): Promise<ImageShare | null> {
    let current: ImageShare | null = obj;
    for (let attempt = 0; attempt < 3 && current !== null; attempt++) {
      const index = (current.metadata.finalizers ?? []).indexOf(FINALIZER);
      if (index < 0) return current;
      const path = `/metadata/finalizers/${index}`;
      const body = [
        { op: 'test', path, value: FINALIZER },
        { op: 'remove', path },
      ];
      try {
        // JSON Patch is the generated client's default content type; set it anyway so intent is explicit.
        return (await this.#api.patchNamespacedCustomObject(
          { ...this.#ref(current), body, fieldManager: FIELD_MANAGER },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        )) as ImageShare;
      } catch (err: unknown) {
        const status = httpStatusOf(err);
        if (status === 404) return null;
        // 422: the `test` op failed (the list changed under us); 409: a concurrent write. Re-read and retry.
        if (status !== 422 && status !== 409) throw apiError(err, `remove finalizer from ImageShare ${keyOf(current)}`);
        current = await this.get(current.metadata.namespace, current.metadata.name);
      }
    }
    if (current === null) return null;
    throw new ConflictError(keyOf(current), `finalizer list of ImageShare ${keyOf(current)} kept changing; retry`);
  }

  /** Every ImageShare in every namespace, following list pagination. Throws on API errors. */
  async listAll(): Promise<ImageShare[]> {
    return this.#listPages(undefined);
  }

  /**
   * Every ImageShare in `namespaces` (empty: every namespace), from fresh LISTs (quorum reads, not a cache): one
   * per namespace, following pagination. Throws on API errors.
   */
  async listIn(namespaces: readonly string[], fieldSelector?: string): Promise<ImageShare[]> {
    if (namespaces.length === 0) return this.#listPages(undefined, fieldSelector);
    const pages = await Promise.all([...new Set(namespaces)].map((ns) => this.#listPages(ns, fieldSelector)));
    return pages.flat();
  }

  /**
   * The ImageShares in `namespaces` naming (regionId, imageId): a field selector on the CRD's selectableFields; an
   * apiserver without them (Kubernetes 1.30 without the feature gate) answers 400, and then the scope is filtered here.
   */
  async listClaimants(namespaces: readonly string[], regionId: string, imageId: string): Promise<ImageShare[]> {
    const names = (o: ImageShare) => o.spec?.regionId === regionId && o.spec?.imageId === imageId;
    try {
      return (await this.listIn(namespaces, `spec.regionId=${regionId},spec.imageId=${imageId}`)).filter(names);
    } catch (err: unknown) {
      if (!(err instanceof Error) || httpStatusOf(err.cause) !== 400) throw err;
      return (await this.listIn(namespaces)).filter(names);
    }
  }

  async #listPages(namespace: string | undefined, fieldSelector?: string): Promise<ImageShare[]> {
    const items: ImageShare[] = [];
    let token: string | undefined;
    do {
      const common = {
        group: GROUP,
        version: VERSION,
        limit: 500,
        ...(fieldSelector === undefined ? {} : { fieldSelector }),
        ...(token === undefined ? {} : { _continue: token }),
      };
      const request =
        namespace === undefined
          ? this.#api.listCustomObjectForAllNamespaces({ ...common, resourcePlural: PLURAL })
          : this.#api.listNamespacedCustomObject({ ...common, namespace, plural: PLURAL });
      const page = (await request.catch((err: unknown) => {
        throw apiError(err, namespace === undefined ? 'list ImageShares' : `list ImageShares in ${namespace}`);
      })) as { items?: ImageShare[]; metadata?: { _continue?: string; continue?: string } };
      items.push(...(page.items ?? []));
      const next = page.metadata?.continue ?? page.metadata?._continue;
      token = next === undefined || next === '' ? undefined : next;
    } while (token !== undefined);
    return items;
  }

  #ref(obj: ImageShare) {
    return {
      group: GROUP,
      version: VERSION,
      namespace: obj.metadata.namespace,
      plural: PLURAL,
      name: obj.metadata.name,
    };
  }
}

/**
 * The RFC 7386 merge patch that turns `from` into `to`, or undefined when they are equal. Keys missing from `to`
 * become null; objects recurse; arrays and scalars are replaced whole.
 */
export function mergePatchDiff(from: Json, to: Json): Json | undefined {
  if (!isObject(from) || !isObject(to)) return deepEqual(from, to) ? undefined : to;
  const patch: { [k: string]: Json } = {};
  for (const key of Object.keys(from)) {
    if (to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    const d = fieldDiff(from[key], value);
    if (d !== undefined) patch[key] = d;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** The patch value for one field, or undefined when it is unchanged (or absent in the target). */
function fieldDiff(before: Json | undefined, after: Json | undefined): Json | undefined {
  if (after === undefined) return undefined;
  if (before === undefined) return after;
  return mergePatchDiff(before, after);
}

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: Json | undefined): Json | undefined {
  if (Array.isArray(v)) return v.map((x) => canonical(x) ?? null);
  if (!isObject(v)) return v;
  const out: { [k: string]: Json } = {};
  for (const k of Object.keys(v).sort()) {
    const c = canonical(v[k]);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

function requireUid(obj: ImageShare): string {
  const uid = obj.metadata.uid;
  if (uid === undefined || uid === '')
    throw new TypeError(`ImageShare ${keyOf(obj)} has no uid; pass an object read from the apiserver`);
  return uid;
}

function requireVersion(obj: ImageShare): string {
  const rv = obj.metadata.resourceVersion;
  if (rv === undefined || rv === '') {
    throw new TypeError(`ImageShare ${keyOf(obj)} has no resourceVersion; pass an object read from the apiserver`);
  }
  return rv;
}

function apiError(err: unknown, what: string, conflictKey?: string): Error {
  if (conflictKey !== undefined && httpStatusOf(err) === 409) {
    return new ConflictError(conflictKey, `${what}: the object changed since it was read`, { cause: err });
  }
  return new Error(`${what} failed: ${describeApiError(err)}`, { cause: err });
}
