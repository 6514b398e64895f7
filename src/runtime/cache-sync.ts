// The gate between "informers started" and "workers may decide": controller-runtime's WaitForCacheSync. Every
// decision that reads the cache (one image, one owner; which Secrets are in use) is only sound once every watched
// scope completed its first LIST, so workers start after this resolves true.
import { type Clock, realClock, sleep } from './clock.ts';

export interface SyncedCache {
  synced(): boolean;
}

/**
 * Resolves true once every cache in `caches` reports synced, or false as soon as `signal` aborts (shutdown before
 * the first LIST succeeded). Polls every `pollMs` (default 100 ms). Never rejects.
 */
export async function waitForCacheSync(
  caches: readonly SyncedCache[],
  signal: AbortSignal,
  options: { clock?: Clock; pollMs?: number } = {},
): Promise<boolean> {
  const clock = options.clock ?? realClock;
  for (;;) {
    if (signal.aborted) return false;
    if (caches.every((c) => c.synced())) return true;
    await sleep(clock, options.pollMs ?? 100, signal);
  }
}
