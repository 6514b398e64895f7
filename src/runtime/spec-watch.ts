// Tells a running reconcile pass that the spec it read is no longer the spec: the informer sees a newer generation
// of the object, and the pass's "writes" signal fires, so it starts no further cloud write from a stale spec. The
// work queue already has the key again (the same event enqueued it), so the next pass starts from the new spec.
// One entry per key at most (a key has at most one pass in flight), dropped when the object is deleted.

export class SpecWatch {
  readonly #passes = new Map<string, { generation: number; controller: AbortController }>();

  /** A signal that fires once `key` is seen at a generation above `generation`. Replaces the key's earlier one. */
  signalFor(key: string, generation: number): AbortSignal {
    const controller = new AbortController();
    this.#passes.set(key, { generation, controller });
    return controller.signal;
  }

  /** The cache saw `key` at `generation` (undefined: the object is gone). */
  observed(key: string, generation: number | undefined): void {
    const pass = this.#passes.get(key);
    if (!pass) return;
    if (generation !== undefined && generation <= pass.generation) return;
    pass.controller.abort();
    this.#passes.delete(key);
  }

  /** Entries held (for tests: bounded by the number of keys). */
  size(): number {
    return this.#passes.size;
  }
}
