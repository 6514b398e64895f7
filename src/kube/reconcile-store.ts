// The reconciler's view of Kubernetes (src/reconcile/reconcile.ts ImageShareStore), on top of the API client for
// fresh reads and writes and the informer cache for the cross-namespace duplicate check.
import type { ImageShare, ImageShareStatus } from '../api/types.ts';
import type { ImageShareStore as ReconcileStore } from '../reconcile/reconcile.ts';
import type { ImageShareClient } from './imageshare-client.ts';

/** `namespaces`: the watched ones (empty: all), where a fresh LIST looks for an image's claimants. */
export function reconcileStore(
  client: ImageShareClient,
  claimants: (regionId: string, imageId: string) => ImageShare[],
  namespaces: readonly string[] = [],
): ReconcileStore {
  return {
    get: (namespace, name) => client.get(namespace, name),
    addFinalizer: (obj) => client.addFinalizer(obj),
    async removeFinalizer(obj) {
      await client.removeFinalizer(obj);
    },
    async patchStatus(obj: ImageShare, status: ImageShareStatus) {
      const written = await client.patchStatusIfUnchanged(obj, status);
      if (written === null) return 'gone';
      if (written === 'conflict') return 'conflict';
      return { resourceVersion: written.metadata.resourceVersion ?? '' };
    },
    claimants,
    listClaimants: (regionId, imageId) => client.listClaimants(namespaces, regionId, imageId),
  };
}
