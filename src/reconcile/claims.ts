// One image, one owner: when several ImageShares name the same (regionId, imageId), one that already holds shares
// wins, then the oldest.
import { createHash } from 'node:crypto';
import type { ImageShare } from '../api/types.ts';
import { mayHavePublished, oursOf, ownershipOf } from './ownership.ts';

export interface ClaimVerdict {
  owner: ImageShare;
  isOwner: boolean;
}

/**
 * Picks the owner among every object claiming the same image as `self` (self included or not). An object that
 * already holds shares of the image (managed, or a grant or publish on record) wins over one that holds none, so
 * the first to expose the image stays its owner even when a sibling turns out older: creationTimestamp has
 * whole-second resolution, and objects applied together often share it. Then the oldest creationTimestamp wins;
 * ties break on namespace/name so every replica and every reconcile agree. Objects being deleted still count: a
 * deleting owner keeps the image until its cleanup is done.
 */
export function resolveClaim(self: ImageShare, all: readonly ImageShare[]): ClaimVerdict {
  const same = all.filter(
    (o) =>
      o.spec.regionId === self.spec.regionId &&
      o.spec.imageId === self.spec.imageId &&
      o.metadata.uid !== self.metadata.uid,
  );
  const owner = [self, ...same].sort(compareAge)[0] ?? self;
  return { owner, isOwner: owner === self };
}

/** True when `o`'s status records shares it may have made (managed accounts, pending grants, a publish). */
export function holdsShares(o: ImageShare): boolean {
  const own = ownershipOf(o.status);
  return oursOf(own).length > 0 || mayHavePublished(own);
}

function compareAge(a: ImageShare, b: ImageShare): number {
  const ha = holdsShares(a);
  if (ha !== holdsShares(b)) return ha ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
}

export function keyOf(o: ImageShare): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

// ---- the claim recorded on the image itself (ADR 0008) ----

/** The ECS tag naming the ImageShare that owns an image, visible to every installation that uses the account. */
export const OWNER_TAG = 'imageshare.ecs.alicloud.dev/owner';
/** ECS caps tag values at 128 characters. */
const MAX_TAG_VALUE = 128;

/** Who this installation is, for claims on the image. */
export interface ClaimIdentity {
  /** This cluster's ID (default: the uid of the kube-system namespace). */
  clusterId: string;
  /** True when this installation watches `namespace`, so its cache holds every ImageShare there. */
  watches(namespace: string): boolean;
  /** This installation's ID (--installation-id), appended to the tag value after "@". */
  installation?: string;
}

/** What the image's owner tag says about `self`. */
export type CloudClaim =
  /** The tag names self. */
  | { kind: 'ours' }
  /** No tag, or one this installation can judge from its own cache (this cluster, a watched namespace). */
  | { kind: 'free' }
  /** Another installation (another cluster, or namespaces this one does not watch) claimed the image. */
  | { kind: 'foreign'; owner: string };

/**
 * `<clusterId>/<namespace>/<name>@<installation>` (without "@…" when no installation is set); past ECS's 128
 * characters, cut and ended with a hash so it stays unique.
 */
export function ownerTagValue(id: ClaimIdentity, self: ImageShare): string {
  const full = `${id.clusterId}/${keyOf(self)}${id.installation ? `@${id.installation}` : ''}`;
  if (full.length <= MAX_TAG_VALUE) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 12);
  return `${full.slice(0, MAX_TAG_VALUE - hash.length - 1)}~${hash}`;
}

/**
 * Judges the owner tag. A tag from this cluster in a namespace this installation watches is left to resolveClaim,
 * which already ran on the complete cache: its object is gone, names another image now, or is younger than self,
 * so self may take the tag over; so is a tag naming self under another installation (the status decides which
 * installation reconciles an object, and it let this one through). A tag naming another object of another
 * installation (namespaces that overlap), and any tag of another cluster or an unwatched namespace, is foreign.
 */
export function cloudClaim(self: ImageShare, tags: Readonly<Record<string, string>>, id: ClaimIdentity): CloudClaim {
  const value = tags[OWNER_TAG];
  if (!value) return { kind: 'free' };
  if (value === ownerTagValue(id, self)) return { kind: 'ours' };
  const at = value.lastIndexOf('@');
  const [object, installation] = at < 0 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
  const [cluster, namespace] = object.split('/');
  if (cluster !== id.clusterId || namespace === undefined || !id.watches(namespace))
    return { kind: 'foreign', owner: value };
  const sameInstallation =
    installation === undefined || id.installation === undefined || installation === id.installation;
  if (sameInstallation || object === `${id.clusterId}/${keyOf(self)}`) return { kind: 'free' };
  return { kind: 'foreign', owner: value };
}
