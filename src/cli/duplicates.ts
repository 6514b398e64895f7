// Cross-file claims: two manifests naming the same (regionId, imageId) would leave one of them Stalled with
// DuplicateImageShare in the cluster. The owner is picked by the controller's own rule (src/reconcile/claims.ts):
// oldest creationTimestamp, ties broken by namespace/name. Manifests in a pull request usually have no
// creationTimestamp, so they tie and namespace/name decides, unless one of them already exists in the cluster.
import type { ImageShare } from '../api/types.ts';
import { resolveClaim } from '../reconcile/claims.ts';

export interface ClaimSource {
  /** namespace/name as the CLI prints it. */
  object: string;
  source: string;
  doc: unknown;
}

export interface DuplicateClaim {
  regionId: string;
  imageId: string;
  owner: { object: string; source: string };
  others: Array<{ object: string; source: string }>;
}

type Meta = { name?: unknown; namespace?: unknown; creationTimestamp?: unknown };
type Claimable = { metadata?: Meta; spec?: { regionId?: unknown; imageId?: unknown } };

/** Every (regionId, imageId) claimed by more than one manifest, with the owner the controller would pick. */
export function findDuplicateClaims(found: readonly ClaimSource[]): DuplicateClaim[] {
  const groups = new Map<string, Array<{ item: ClaimSource; share: ImageShare }>>();
  found.forEach((item, i) => {
    const doc = item.doc as Claimable;
    const regionId = doc.spec?.regionId;
    const imageId = doc.spec?.imageId;
    if (typeof regionId !== 'string' || typeof imageId !== 'string') return;
    const key = `${regionId}\u0000${imageId}`;
    const group = groups.get(key) ?? [];
    group.push({ item, share: asClaimant(doc, regionId, imageId, i) });
    groups.set(key, group);
  });
  const duplicates: DuplicateClaim[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    if (first === undefined || group.length < 2) continue;
    const { owner } = resolveClaim(
      first.share,
      group.map((g) => g.share),
    );
    const ownerItem = group.find((g) => g.share === owner) ?? first;
    duplicates.push({
      regionId: owner.spec.regionId,
      imageId: owner.spec.imageId,
      owner: { object: ownerItem.item.object, source: ownerItem.item.source },
      others: group.filter((g) => g !== ownerItem).map((g) => ({ object: g.item.object, source: g.item.source })),
    });
  }
  return duplicates;
}

/** Just enough of an ImageShare for resolveClaim; the synthetic uid keeps two manifests distinct. */
function asClaimant(doc: Claimable, regionId: string, imageId: string, index: number): ImageShare {
  const meta = doc.metadata ?? {};
  return {
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: {
      name: typeof meta.name === 'string' ? meta.name : '',
      namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
      uid: `manifest-${index}`,
      ...(typeof meta.creationTimestamp === 'string' ? { creationTimestamp: meta.creationTimestamp } : {}),
    },
    spec: { regionId, imageId },
  };
}

/** The sentence validate prints for a manifest that is not the owner. */
export function duplicateMessage(d: DuplicateClaim): string {
  return (
    `(${d.regionId}, ${d.imageId}) is also claimed by ${d.owner.object} in ${d.owner.source}; the controller treats ` +
    `${d.owner.object} as the owner (oldest creationTimestamp; manifests applied together tie and namespace/name ` +
    'decides), so this object would be Stalled with reason DuplicateImageShare and never touch the image'
  );
}
