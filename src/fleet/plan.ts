// The fleet planner (docs/adr/0027): from what discovery found per region, the set's spec and the ImageShares that
// exist, which children to create, which to set back to the template, and which to delete. Pure: no I/O, no clock.
import type { ImageShareSpec } from '../api/types.ts';
import { type ImageShareSetSpec, REGION_LABEL, type RegionStatus, SET_LABEL } from './types.ts';
import { type DiscoveredImage, windowOf } from './window.ts';

/** One region's listing: every page read, or why it could not be (then its children are left alone). */
export type RegionListing =
  | { ok: true; images: readonly DiscoveredImage[] }
  | { ok: false; error: string; terminal: boolean };

/** An ImageShare in the set's namespace as the planner needs it. */
export interface ChildView {
  name: string;
  /** The uid named by its controller ownerReference, if it has one. */
  ownerUid: string | undefined;
  labels: Record<string, string>;
  spec: ImageShareSpec;
  deleting: boolean;
  /** What its own passes recorded, for deleting it under the set's deletionPolicy (see removalOf). */
  pass: ChildPass;
}

/** A child's own passes as its status and metadata show them. */
export interface ChildPass {
  /** A pass of it has seen its current generation (status.observedGeneration). */
  observed: boolean;
  /** It holds the ImageShare cleanup finalizer, so its deletion runs its deletionPolicy. */
  holdsFinalizer: boolean;
  /** Its status records accounts it granted, or a publish, that a Revoke deletion would undo. */
  owesCleanup: boolean;
}

export interface SetView {
  name: string;
  uid: string;
  spec: ImageShareSetSpec;
  /** The set's labels its children carry too: the shard's (--watch-label-selector), so one shard owns both. */
  inheritedLabels?: Record<string, string>;
}

export interface ChildCreate {
  name: string;
  regionId: string;
  imageId: string;
  labels: Record<string, string>;
  spec: ImageShareSpec;
}

export interface ChildUpdate {
  name: string;
  /** A JSON merge patch: the template fields that differ (null removes one) and the set's labels. */
  patch: { metadata?: { labels: Record<string, string> }; spec?: Record<string, unknown> };
}

export const StopReason = { TooManyChildren: 'TooManyChildren' } as const;

export interface FleetPlan {
  create: ChildCreate[];
  update: ChildUpdate[];
  /** Names of owned children to delete now (their deletionPolicy is the set's, see removalOf). */
  remove: string[];
  /** Owned children leaving that first need a pass under the set's Revoke (removalOf); deleted by a later pass. */
  waiting: string[];
  /** Names the set needs that an ImageShare it does not own already holds: reported, never adopted. */
  taken: string[];
  regions: RegionStatus[];
  /** Set when the window needs more than maxChildren: nothing is created or deleted. */
  stop?: { reason: typeof StopReason.TooManyChildren; message: string };
}

export const DEFAULT_MAX_CHILDREN = 100;

/** The template fields a child copies from its set, in a fixed order. */
const TEMPLATE_FIELDS = [
  'accounts',
  'expiringAccounts',
  'community',
  'sharePolicy',
  'deletionPolicy',
  'mode',
  'suspend',
  'credentials',
  'resyncInterval',
] as const;
type TemplateField = (typeof TEMPLATE_FIELDS)[number];

/** The child's deterministic name: a crash between create and status write re-creates the same name (ADR 0027). */
export function childName(setName: string, regionId: string, imageId: string): string {
  return `${setName}-${regionId}-${imageId}`;
}

export function childLabels(
  setName: string,
  regionId: string,
  inherited: Record<string, string> = {},
): Record<string, string> {
  return { ...inherited, [SET_LABEL]: setName, [REGION_LABEL]: regionId };
}

/** The child's spec: (region, image) plus the set's template fields, those the set leaves out left out. Pure. */
export function childSpec(spec: ImageShareSetSpec, regionId: string, imageId: string): ImageShareSpec {
  const out: ImageShareSpec = { regionId, imageId };
  const target = out as unknown as Record<string, unknown>;
  for (const field of TEMPLATE_FIELDS) {
    const value = spec[field];
    if (value !== undefined) target[field] = structuredClone(value);
  }
  return out;
}

/** A template field as compared: the CRD's defaults filled in, accounts as a sorted set. */
function normalized(spec: Partial<ImageShareSpec>, field: TemplateField): string {
  switch (field) {
    case 'accounts':
      return JSON.stringify([...new Set(spec.accounts ?? [])].sort());
    case 'sharePolicy':
      return spec.sharePolicy ?? 'Authoritative';
    case 'deletionPolicy':
      return spec.deletionPolicy ?? 'Retain';
    case 'mode':
      return spec.mode ?? 'Apply';
    case 'suspend':
      return String(spec.suspend ?? false);
    case 'expiringAccounts':
      return JSON.stringify(
        [...(spec.expiringAccounts ?? [])]
          .map((e) => [e.id, Date.parse(e.expiresAt)])
          .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)),
      );
    case 'credentials':
      return JSON.stringify(spec.credentials ?? null, Object.keys(spec.credentials ?? {}).sort());
    default:
      return JSON.stringify(spec[field] ?? null);
  }
}

/** The merge patch that sets `child` back to the template, or undefined when it matches. Pure. */
export function driftPatch(set: SetView, child: ChildView): ChildUpdate | undefined {
  const want = childSpec(set.spec, child.spec.regionId, child.spec.imageId);
  const spec: Record<string, unknown> = {};
  for (const field of TEMPLATE_FIELDS) {
    if (normalized(child.spec, field) !== normalized(want, field)) spec[field] = want[field] ?? null;
  }
  // A child's recipients come from its set only: account-set references added by hand go (docs/adr/0033).
  if ((child.spec.accountSetRefs ?? []).length > 0) spec.accountSetRefs = null;
  const labels = childLabels(set.name, child.spec.regionId, set.inheritedLabels);
  const labelsDiffer = Object.entries(labels).some(([k, v]) => child.labels[k] !== v);
  if (Object.keys(spec).length === 0 && !labelsDiffer) return undefined;
  return {
    name: child.name,
    patch: {
      ...(labelsDiffer ? { metadata: { labels } } : {}),
      ...(Object.keys(spec).length > 0 ? { spec } : {}),
    },
  };
}

/**
 * Plans one pass. `listings` undefined means no discovery this pass (the set is suspended): children are only set
 * back to the template. A region whose listing failed keeps its children; a region no longer in spec.regions
 * loses them. Children being deleted are neither patched nor deleted again. Pure.
 */
export function planChildren(
  set: SetView,
  listings: ReadonlyMap<string, RegionListing> | undefined,
  existing: readonly ChildView[],
): FleetPlan {
  const owned = existing.filter((c) => c.ownerUid === set.uid);
  const live = owned.filter((c) => !c.deleting);
  const update = live.flatMap((c) => driftPatch(set, c) ?? []);
  if (listings === undefined) return { create: [], update, remove: [], waiting: [], taken: [], regions: [] };

  const byName = new Map(existing.map((c) => [c.name, c] as const));
  const { wanted, regions, failed } = windows(set, listings, live);
  const keptElsewhere = live.filter((c) => failed.has(c.spec.regionId)).length;
  const max = set.spec.maxChildren ?? DEFAULT_MAX_CHILDREN;
  if (wanted.size + keptElsewhere > max) {
    const message = `The selector keeps ${wanted.size + keptElsewhere} images across ${set.spec.regions.length} regions, more than maxChildren ${max}: no child is created or deleted until the selector, keep or maxChildren changes.`;
    return {
      create: [],
      update,
      remove: [],
      waiting: [],
      taken: [],
      regions,
      stop: { reason: StopReason.TooManyChildren, message },
    };
  }

  const taken: string[] = [];
  const create: ChildCreate[] = [];
  for (const child of wanted.values()) {
    const holder = byName.get(child.name);
    if (holder === undefined) create.push(child);
    else if (holder.ownerUid !== set.uid) taken.push(child.name);
  }
  const leaving = live.filter((c) => !failed.has(c.spec.regionId) && !wanted.has(c.name));
  const removal = removals(set.spec, leaving);
  const names = new Set(leaving.map((c) => c.name));
  return {
    create,
    update: [...update.filter((u) => !names.has(u.name)), ...removal.update],
    remove: removal.remove,
    waiting: removal.waiting,
    taken: taken.sort(),
    regions,
  };
}

/**
 * How an owned child may leave under the set's deletionPolicy. An ImageShare holds its cleanup finalizer only while
 * Revoke finds something it owns (ADR 0020), so one deleted before any pass of it saw Revoke leaves at once, grants
 * and all. Under Revoke the set therefore first sets the child's policy (that field only: a leaving build gets no new
 * accounts), and deletes it once a pass has observed that generation and it holds the finalizer or owes no cleanup.
 * A suspended child does no pass that would add the finalizer: it is deleted under what it holds (ADR 0027). Pure.
 */
export function removalOf(
  spec: Pick<ImageShareSetSpec, 'deletionPolicy'>,
  child: ChildView,
): 'now' | 'wait' | ChildUpdate {
  if ((spec.deletionPolicy ?? 'Retain') !== 'Revoke') return 'now';
  if ((child.spec.deletionPolicy ?? 'Retain') !== 'Revoke')
    return { name: child.name, patch: { spec: { deletionPolicy: 'Revoke' } } };
  if (child.spec.suspend) return 'now';
  if (!child.pass.observed) return 'wait';
  return child.pass.holdsFinalizer || !child.pass.owesCleanup ? 'now' : 'wait';
}

/** removalOf over several children, sorted by name. Pure. */
export function removals(
  spec: Pick<ImageShareSetSpec, 'deletionPolicy'>,
  leaving: readonly ChildView[],
): { remove: string[]; update: ChildUpdate[]; waiting: string[] } {
  const out = { remove: [] as string[], update: [] as ChildUpdate[], waiting: [] as string[] };
  for (const c of [...leaving].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = removalOf(spec, c);
    if (r === 'now') out.remove.push(c.name);
    else {
      out.waiting.push(c.name);
      if (r !== 'wait') out.update.push(r);
    }
  }
  return out;
}

/** Per region of the spec: the children its window wants, its status row, and whether its listing failed. */
function windows(set: SetView, listings: ReadonlyMap<string, RegionListing>, live: readonly ChildView[]) {
  const wanted = new Map<string, ChildCreate>();
  const regions: RegionStatus[] = [];
  const failed = new Set<string>();
  for (const regionId of set.spec.regions) {
    const listing = listings.get(regionId);
    if (listing === undefined || !listing.ok) {
      failed.add(regionId);
      const kept = live.filter((c) => c.spec.regionId === regionId).length;
      regions.push({ regionId, matched: 0, kept, error: listing?.ok === false ? listing.error : 'not listed' });
      continue;
    }
    const { matched, kept } = windowOf(listing.images, set.spec);
    regions.push(regionStatus(regionId, matched, kept.length));
    for (const image of kept) {
      const name = childName(set.name, regionId, image.imageId);
      const spec = childSpec(set.spec, regionId, image.imageId);
      wanted.set(name, {
        name,
        regionId,
        imageId: image.imageId,
        labels: childLabels(set.name, regionId, set.inheritedLabels),
        spec,
      });
    }
  }
  return { wanted, regions, failed };
}

function regionStatus(regionId: string, matched: readonly DiscoveredImage[], kept: number): RegionStatus {
  const newest = matched[0];
  if (newest === undefined) return { regionId, matched: 0, kept };
  return {
    regionId,
    newestImageId: newest.imageId,
    newestImageName: newest.name,
    newestCreationTime: newest.creationTime,
    matched: matched.length,
    kept,
  };
}

/** When the set itself is deleted: every owned child not already going leaves under the set's policy. Pure. */
export function childrenToDelete(
  set: Pick<SetView, 'uid' | 'spec'>,
  existing: readonly ChildView[],
): { remove: string[]; update: ChildUpdate[]; waiting: string[] } {
  return removals(
    set.spec,
    existing.filter((c) => c.ownerUid === set.uid && !c.deleting),
  );
}

/**
 * The label keys a Kubernetes label selector names ("shard=a,tier in (x,y),!legacy" → shard, tier, legacy): the
 * labels a set passes on to its children so that the shard that watches the set also watches them. Pure.
 */
export function selectorKeys(selector: string | undefined): string[] {
  if (!selector) return [];
  let depth = 0;
  const parts: string[] = [''];
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) parts.push('');
    else parts[parts.length - 1] += ch;
  }
  const keys = parts.flatMap((p) => /^\s*!?\s*([A-Za-z0-9][-A-Za-z0-9_./]*)/.exec(p)?.[1] ?? []);
  return [...new Set(keys)];
}
