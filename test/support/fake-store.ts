// An in-memory ImageShareStore with apiserver-like bookkeeping (resourceVersion, generation, finalizers), for unit
// tests of the reconciler. The real store is tested against kube-apiserver in test/integration/.
import {
  API_VERSION,
  FINALIZER,
  type ImageShare,
  type ImageShareSpec,
  type ImageShareStatus,
  KIND,
} from '../../src/api/types.ts';
import type { ImageShareStore } from '../../src/reconcile/reconcile.ts';

export class FakeStore implements ImageShareStore {
  readonly objects = new Map<string, ImageShare>();
  statusWrites = 0;
  private rv = 0;

  create(name: string, spec: ImageShareSpec, opts: { namespace?: string; createdAt?: string } = {}): ImageShare {
    const namespace = opts.namespace ?? 'default';
    const obj: ImageShare = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name,
        namespace,
        uid: `uid-${name}-${namespace}`,
        generation: 1,
        resourceVersion: String(++this.rv),
        creationTimestamp: opts.createdAt ?? '2026-01-01T00:00:00Z',
      },
      spec,
    };
    this.objects.set(`${namespace}/${name}`, obj);
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
  }

  delete(name: string, namespace = 'default'): void {
    const obj = this.must(namespace, name);
    if (obj.metadata.finalizers?.length) {
      obj.metadata.deletionTimestamp = '2026-01-02T00:00:00Z';
      obj.metadata.generation = (obj.metadata.generation ?? 0) + 1;
    } else this.objects.delete(`${namespace}/${name}`);
  }

  async get(namespace: string, name: string): Promise<ImageShare | null> {
    const obj = this.objects.get(`${namespace}/${name}`);
    return obj ? structuredClone(obj) : null;
  }

  async addFinalizer(obj: ImageShare): Promise<ImageShare> {
    const cur = this.must(obj.metadata.namespace, obj.metadata.name);
    cur.metadata.finalizers = [...(cur.metadata.finalizers ?? []), FINALIZER];
    cur.metadata.resourceVersion = String(++this.rv);
    return structuredClone(cur);
  }

  async removeFinalizer(obj: ImageShare): Promise<void> {
    const cur = this.must(obj.metadata.namespace, obj.metadata.name);
    cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    if (cur.metadata.deletionTimestamp && cur.metadata.finalizers.length === 0)
      this.objects.delete(`${obj.metadata.namespace}/${obj.metadata.name}`);
  }

  /** Status writes: pinned to the uid, not the resourceVersion (as the real store); 'gone' when deleted. */
  async patchStatus(obj: ImageShare, status: ImageShareStatus): Promise<'ok' | 'gone'> {
    const cur = this.objects.get(`${obj.metadata.namespace}/${obj.metadata.name}`);
    if (!cur || cur.metadata.uid !== obj.metadata.uid) return 'gone';
    cur.status = structuredClone(status);
    cur.metadata.resourceVersion = String(++this.rv);
    this.statusWrites++;
    return 'ok';
  }

  /** A foreign write that moves the resourceVersion (e.g. Argo CD adding a label). */
  touch(name: string, namespace = 'default'): void {
    const cur = this.must(namespace, name);
    cur.metadata.labels = { ...(cur.metadata.labels ?? {}), touched: String(this.rv) };
    cur.metadata.resourceVersion = String(++this.rv);
  }

  list(): ImageShare[] {
    return [...this.objects.values()].map((o) => structuredClone(o));
  }

  claimants(regionId: string, imageId: string): ImageShare[] {
    return this.list().filter((o) => o.spec.regionId === regionId && o.spec.imageId === imageId);
  }

  must(namespace: string, name: string): ImageShare {
    const obj = this.objects.get(`${namespace}/${name}`);
    if (!obj) throw new Error(`no object ${namespace}/${name}`);
    return obj;
  }
}
