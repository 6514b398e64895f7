// Batched discovery (docs/adr/0027): every set that uses one identity in one region shares one listing of that
// region's Available self-owned images. A caller says how recent a listing must be (`notBefore`: when it started),
// and joins the newest one that is recent enough, in flight or finished; a failed one is not kept. Each set then
// applies its own selector to the shared images (windowOf re-checks every criterion), so the server-side filters are
// left out on purpose. Sets due at one wall-clock tick (nextTick) ask for a listing started since that tick, so a
// round costs one listing per (identity, region), however long a listing takes and however many sets wait for a pass.

/** Only the newest listing per (identity, region) is kept: a handful of entries per identity, never swept. */
export interface SharedListingOptions {
  now: () => number;
}

interface Entry<T> {
  /** When the listing started: it holds every image that existed then. */
  startedAt: number;
  images: Promise<T[]>;
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
   * The region's images for `identity` as of `notBefore` or later: joins the newest listing that started at or after
   * `notBefore` (in flight or finished), else starts one with `list` (every page of the region's Available self-owned
   * images, with this identity's credentials). A tick-driven discovery passes the tick's start; new input (a created
   * set) passes the time it arrived, so a build published before it is never missed. The listing runs on its own
   * signal, so one set's cancelled pass does not fail the others that joined it; it still rejects for this caller
   * when `signal` fires first. Rejections are not kept.
   */
  get(
    identity: string,
    regionId: string,
    signal: AbortSignal,
    list: (signal: AbortSignal) => Promise<T[]>,
    notBefore: number,
  ): Promise<T[]> {
    const key = `${identity}\u0000${regionId}`;
    const cur = this.#entries.get(key);
    if (cur !== undefined && cur.startedAt >= notBefore) return raced(cur.images, signal);
    this.started++;
    const now = this.#o.now();
    const entry: Entry<T> = { startedAt: now, images: Promise.resolve([]) };
    entry.images = list(new AbortController().signal).catch((err: unknown) => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      throw err;
    });
    this.#entries.set(key, entry);
    return raced(entry.images, signal);
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

/** The start of the wall-clock tick `nowMs` falls in: what a tick-driven discovery asks its listing to be newer than. */
export function tickStart(nowMs: number, intervalMs: number): number {
  return nowMs - (nowMs % intervalMs);
}

/** Ms until the next multiple of `intervalMs` on the wall clock (at least 1): aligned ticks let sets share listings. */
export function nextTick(nowMs: number, intervalMs: number): number {
  return Math.max(1, intervalMs - (nowMs % intervalMs));
}
