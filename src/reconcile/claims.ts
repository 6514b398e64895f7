// One image, one owner: when several ImageShares name the same (regionId, imageId), the oldest wins.
import type { ImageShare } from '../api/types.ts';

export interface ClaimVerdict {
  owner: ImageShare;
  isOwner: boolean;
}

/**
 * Picks the owner among every object claiming the same image as `self` (self included or not). Oldest
 * creationTimestamp wins; ties break on namespace/name so every replica and every reconcile agree.
 * Objects being deleted still count: a deleting owner keeps the image until its cleanup is done.
 */
export function resolveClaim(self: ImageShare, all: readonly ImageShare[]): ClaimVerdict {
  const same = all.filter(
    (o) => o.spec.regionId === self.spec.regionId && o.spec.imageId === self.spec.imageId && o.metadata.uid !== self.metadata.uid,
  );
  const owner = [self, ...same].sort(compareAge)[0] ?? self;
  return { owner, isOwner: owner === self };
}

function compareAge(a: ImageShare, b: ImageShare): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
}

export function keyOf(o: ImageShare): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}
