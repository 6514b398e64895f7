// Batched discovery (docs/adr/0027): every set that uses one identity in one region shares one listing of that
// region's Available self-owned images. A listing in flight is joined; a finished one is reused for `ttlMs`; a failed
// one is not kept. Each set then applies its own selector to the shared images (windowOf re-checks every criterion),
// so the server-side filters are left out on purpose. Sets due at the same moment (discovery ticks are aligned to
// the wall clock, see nextTick) therefore cost one listing per (identity, region) per interval, not one per set.

export interface SharedListingOptions {
  ttlMs: number;
  now: () => number;
}

interface Entry<T> {
  at: number;
  images: Promise<T[]>;
  settled: boolean;
}

export class SharedListing<T> {
  readonly #o: SharedListingOptions;
  readonly #entries = new Map<string, Entry<T>>();
  /** Listings started (for tests and the log): the calls batching saved are the sets that joined one. */
  started = 0;

  constructor(options: SharedListingOptions) {
    this.#o = options;
  }

  /**
   * The region's images for `identity`: joins a listing in flight, reuses one younger than ttlMs, else starts one
   * with `list` (every page of the region's Available self-owned images, with this identity's credentials).
   * `fresh` (new input: a created or edited set, the reconcile-request annotation) always starts a listing, so a
   * build that appeared just before is never missed for a whole interval; only tick-driven discoveries share.
   * The listing runs on its own signal, so one set's cancelled pass does not fail the others that joined it; it
   * still rejects for this caller when `signal` fires first. Rejections are not cached.
   */
  get(
    identity: string,
    regionId: string,
    signal: AbortSignal,
    list: (signal: AbortSignal) => Promise<T[]>,
    fresh = false,
  ): Promise<T[]> {
    const key = `${identity}\u0000${regionId}`;
    const now = this.#o.now();
    const cur = this.#entries.get(key);
    const reusable = cur !== undefined && (!cur.settled || now - cur.at < this.#o.ttlMs);
    if (reusable && !fresh) return raced(cur.images, signal);
    this.started++;
    const entry: Entry<T> = { at: now, settled: false, images: Promise.resolve([]) };
    entry.images = list(new AbortController().signal).then(
      (images) => {
        entry.settled = true;
        entry.at = this.#o.now();
        return images;
      },
      (err: unknown) => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
        throw err;
      },
    );
    this.#entries.set(key, entry);
    return raced(entry.images, signal);
  }

  /** Forgets listings older than ttlMs (call now and then so idle identities do not stay in memory). */
  sweep(): void {
    const now = this.#o.now();
    for (const [k, e] of this.#entries) if (e.settled && now - e.at >= this.#o.ttlMs) this.#entries.delete(k);
  }
}

function raced<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Ms until the next multiple of `intervalMs` on the wall clock (at least 1): aligned ticks let sets share listings. */
export function nextTick(nowMs: number, intervalMs: number): number {
  return Math.max(1, intervalMs - (nowMs % intervalMs));
}
