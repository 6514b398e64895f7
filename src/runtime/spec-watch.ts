// Tells a running reconcile pass that the spec it read is no longer the spec: the informer sees a newer generation
// of the object, and the pass's "writes" signal fires, so it starts no further cloud write from a stale spec. The
// work queue already has the key again (the same event enqueued it), so the next pass starts from the new spec.
// The latest generation seen per key is kept too, so an edit that reached the informer after the pass's GET but
// before the pass registered here still stops it (its event found no pass to tell). The latest generation is kept
// per cached key, dropped when the object is deleted; a pass's entry only while the pass runs (release).

export class SpecWatch {
  readonly #passes = new Map<string, { generation: number; controller: AbortController }>();
  readonly #latest = new Map<string, number>();

  /**
   * A signal that fires once `key` is seen at a generation above `generation`, at once if it already was.
   * Replaces the key's earlier one.
   */
  signalFor(key: string, generation: number): AbortSignal {
    const controller = new AbortController();
    if ((this.#latest.get(key) ?? generation) > generation) {
      controller.abort();
      this.#passes.delete(key);
      return controller.signal;
    }
    this.#passes.set(key, { generation, controller });
    return controller.signal;
  }

  /** The pass that got `signal` for `key` ended: its entry (and the signals hanging on it) is dropped. */
  release(key: string, signal: AbortSignal): void {
    if (this.#passes.get(key)?.controller.signal === signal) this.#passes.delete(key);
  }

  /** The cache saw `key` at `generation` (undefined: the object is gone). */
  observed(key: string, generation: number | undefined): void {
    if (generation === undefined) this.#latest.delete(key);
    else if (generation > (this.#latest.get(key) ?? -1)) this.#latest.set(key, generation);
    const pass = this.#passes.get(key);
    if (!pass) return;
    if (generation !== undefined && generation <= pass.generation) return;
    pass.controller.abort();
    this.#passes.delete(key);
  }

  /** Passes registered (for tests: bounded by the number of keys). */
  size(): number {
    return this.#passes.size;
  }
}
