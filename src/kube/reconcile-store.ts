// The reconciler's view of Kubernetes (src/reconcile/reconcile.ts ImageShareStore), on top of the API client for
// writes and the informer cache for reads and the cross-namespace duplicate check.
//
// Reads come from the cache, not a fresh GET (issue 19: three apiserver requests per change). The cache may lag
// this process's own last write by one watch event, so the store keeps the object each of its writes returned until
// the cache shows that resourceVersion or a newer one, and a read takes the newer of the two. Every status write is
// still pinned to the resourceVersion the pass read: a read that missed another writer's change ends in a conflict,
// and the re-read after a conflict is a fresh GET, so ownership recorded by anyone else is merged, never lost.
import type { ImageShare, ImageShareStatus } from '../api/types.ts';
import type { ImageShareStore as ReconcileStore } from '../reconcile/reconcile.ts';
import type { ImageShareClient } from './imageshare-client.ts';
import { leanImageShare } from './lean-object.ts';

/** The cache the store reads from: the ImageShare informer. */
export interface StoreCache {
  get(key: string): ImageShare | undefined;
  /** Called with every object the cache stores, so the store can drop its copy once the cache has caught up. */
  onStored?(listener: (key: string, obj: ImageShare) => void): void;
}

/**
 * `namespaces`: the watched ones (empty: all), where a fresh LIST looks for an image's claimants. `cache`: read
 * objects from it (unset: every read is a fresh GET).
 */
export function reconcileStore(
  client: ImageShareClient,
  claimants: (regionId: string, imageId: string) => ImageShare[],
  namespaces: readonly string[] = [],
  cache?: StoreCache,
): ReconcileStore & { held(): number } {
  /** key → the object a write of ours returned, while the cache has not shown it yet. */
  const written = new Map<string, ImageShare>();
  /** Keys whose next read must be a fresh GET (a write of theirs conflicted: the cache missed someone's change). */
  const fresh = new Set<string>();
  cache?.onStored?.((key, obj) => {
    const mine = written.get(key);
    if (mine !== undefined && !newer(mine, obj)) written.delete(key);
  });
  // A write whose watch event came first (the cache already shows it or something newer) is not kept: no later event
  // of the object would drop it, and a read takes the cache then anyway.
  const remember = (obj: ImageShare): void => {
    const key = keyOf(obj);
    const cached = cache?.get(key);
    if (cached !== undefined && !newer(obj, cached)) written.delete(key);
    else written.set(key, leanImageShare(obj));
  };

  async function get(namespace: string, name: string): Promise<ImageShare | null> {
    const key = `${namespace}/${name}`;
    if (cache === undefined || fresh.delete(key)) {
      written.delete(key);
      return client.get(namespace, name);
    }
    const cached = cache.get(key);
    const mine = written.get(key);
    if (mine !== undefined && cached !== undefined && newer(mine, cached)) return mine; // our write, not yet seen
    // The cache has caught up (or the object is gone: a deletion comes after our write in the watch).
    written.delete(key);
    return cached ?? null;
  }

  return {
    get,
    async addFinalizer(obj) {
      const updated = await client.addFinalizer(obj);
      remember(updated);
      return updated;
    },
    async removeFinalizer(obj) {
      written.delete(keyOf(obj));
      await client.removeFinalizer(obj);
    },
    async patchStatus(obj: ImageShare, status: ImageShareStatus) {
      const key = keyOf(obj);
      const result = await client.patchStatusIfUnchanged(obj, status);
      if (result === null) {
        written.delete(key);
        return 'gone';
      }
      if (result === 'conflict') {
        fresh.add(key);
        return 'conflict';
      }
      // An unchanged status is not written and `result` is obj itself: nothing new to remember.
      if (result !== obj) remember(result);
      return { resourceVersion: result.metadata.resourceVersion ?? '' };
    },
    claimants,
    listClaimants: (regionId, imageId) => client.listClaimants(namespaces, regionId, imageId),
    /** Written objects held while the cache has not shown them (for tests: none once the cache caught up). */
    held: () => written.size,
  };
}

const keyOf = (obj: ImageShare): string => `${obj.metadata.namespace}/${obj.metadata.name}`;

/**
 * True when `mine` is a newer state of the same object than `cached`: same uid and a larger resourceVersion. The
 * apiserver's resourceVersions are etcd revisions (decimal integers); any other form counts as not newer, so the
 * cache wins and a stale write at worst conflicts and re-reads.
 */
function newer(mine: ImageShare, cached: ImageShare): boolean {
  if (mine.metadata.uid !== cached.metadata.uid) return false;
  const a = revision(mine.metadata.resourceVersion);
  const b = revision(cached.metadata.resourceVersion);
  return a !== undefined && b !== undefined && a > b;
}

function revision(rv: string | undefined): bigint | undefined {
  return rv !== undefined && /^[0-9]{1,30}$/.test(rv) ? BigInt(rv) : undefined;
}
