// `plan` for an ImageShareSet: lists each region's own images the way discovery does (DescribeImages,
// ImageOwnerAlias=self, every page) and runs the controller's planner (src/fleet/plan.ts) on them, so the children it
// prints as created, kept and deleted are the ones Apply would make. Never writes.
import type { ImageShare } from '../api/types.ts';
import { classify } from '../cloud/ecs-errors.ts';
import type { CloudCredentials, ImageSharingFactory } from '../cloud/port.ts';
import { resolveAccounts } from '../fleet/accounts.ts';
import { planChildren, type RegionListing } from '../fleet/plan.ts';
import type { AccountSet, AccountSetRef, ImageShareSet, RegionStatus } from '../fleet/types.ts';
import { childView } from '../controllers/imageshareset/reconciler.ts';
import type { ChildObject } from '../controllers/imageshareset/set-client.ts';

/** What the cluster says about a set (plan --kubeconfig): its uid and the namespace's ImageShares. */
export interface LiveSet {
  state: 'found' | 'absent' | { error: string };
  uid?: string;
  imageShares: ChildObject[];
}

/** One child as the plan prints it: where, which image, and whom it would share with. */
export interface ChildLine {
  name: string;
  regionId: string;
  imageId: string;
  accounts: string[];
  expiringAccounts: Array<{ id: string; expiresAt: string }>;
  community?: boolean;
}

/** An ImageShareSet's plan, as `plan --output json` prints it. */
export interface SetPlanResult extends Record<string, unknown> {
  object: string;
  kind: 'ImageShareSet';
  identity: string;
  note?: string;
  live: 'not read' | LiveSet['state'];
  regions: RegionStatus[];
  /** Whom every child shares with (inline accounts plus the account sets found): known even when no region lists. */
  sharesWith: string[];
  children: { create: ChildLine[]; keep: ChildLine[]; update: string[]; remove: string[] };
  blockers: Array<{ reason: string; message: string }>;
  error?: { reason: string; message: string };
}

export interface PlanSetInput {
  set: ImageShareSet;
  /** The AccountSets and ClusterAccountSets found next to the set in the -f files. */
  accountSets: readonly AccountSet[];
  cloud: ImageSharingFactory;
  identity: { credentials: CloudCredentials; identity: string; note?: string };
  live?: LiveSet;
}

/**
 * Plans one set. A region whose listing fails is reported in `regions` (its children are left alone, as the
 * controller does); an account set reference that is not in the files is named in `note` and counted as empty.
 * Never throws for cloud errors.
 */
export async function planSet(input: PlanSetInput): Promise<SetPlanResult> {
  const { set, identity } = input;
  const missing: string[] = [];
  const accounts = resolveAccounts(set.spec, (ref) => lookup(ref, set.metadata.namespace, input.accountSets, missing));
  const notes = [
    ...(identity.note ? [identity.note] : []),
    ...(missing.length > 0 ? [`${missing.join(', ')} not in the given files: planned without their accounts`] : []),
  ];
  const base = {
    object: `ImageShareSet ${set.metadata.namespace ?? '(default namespace)'}/${set.metadata.name}`,
    kind: 'ImageShareSet' as const,
    identity: identity.identity,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    live: input.live?.state ?? ('not read' as const),
  };
  const empty = { create: [], keep: [], update: [], remove: [] };
  if (!accounts.ok)
    return {
      ...base,
      regions: [],
      sharesWith: [],
      children: empty,
      blockers: [{ reason: accounts.reason, message: accounts.message }],
    };
  const listings = await listRegions(set, input.cloud, identity.credentials);
  const uid = input.live?.uid ?? '(new set)';
  const { accounts: _inline, accountSetRefs: _refs, ...template } = set.spec;
  const spec = accounts.accounts === undefined ? template : { ...template, accounts: accounts.accounts };
  const existing = (input.live?.imageShares ?? []).map(childView);
  const plan = planChildren({ name: set.metadata.name, uid, spec }, listings, existing);
  // A leaving child under Revoke is first given Revoke and deleted by a later pass: both are deletions here.
  const remove = [...plan.remove, ...plan.waiting].sort();
  const removed = new Set(remove);
  const keep = existing
    .filter((c) => c.ownerUid === uid && !c.deleting && !removed.has(c.name))
    .map((c) => line(c.name, c.spec));
  const blockers = [
    ...(plan.stop ? [{ reason: plan.stop.reason, message: plan.stop.message }] : []),
    ...plan.taken.map((name) => ({
      reason: 'ChildNameTaken',
      message: `ImageShare ${name} exists and is not owned by this set`,
    })),
  ];
  return {
    ...base,
    regions: plan.regions,
    sharesWith: [
      ...(accounts.accounts ?? []),
      ...(set.spec.expiringAccounts ?? []).map((e) => `${e.id} until ${e.expiresAt}`),
      ...(set.spec.community === true ? ['community'] : []),
    ],
    children: {
      create: plan.create.map((c) => line(c.name, c.spec)),
      keep,
      update: plan.update.map((u) => u.name),
      remove,
    },
    blockers,
  };
}

function lookup(
  ref: AccountSetRef,
  namespace: string | undefined,
  sets: readonly AccountSet[],
  missing: string[],
): AccountSet {
  const found = sets.find(
    (s) =>
      s.kind === ref.kind &&
      s.metadata.name === ref.name &&
      (ref.kind === 'ClusterAccountSet' || (s.metadata.namespace ?? namespace) === namespace),
  );
  if (found !== undefined) return found;
  missing.push(`${ref.kind} ${ref.name}`);
  return { apiVersion: '', kind: ref.kind, metadata: { name: ref.name }, spec: { accounts: [] } };
}

/** Every region listed as discovery lists it; a failure becomes that region's error. */
async function listRegions(
  set: ImageShareSet,
  cloud: ImageSharingFactory,
  credentials: CloudCredentials,
): Promise<Map<string, RegionListing>> {
  const sharing = cloud.forCredentials(credentials);
  const listings = new Map<string, RegionListing>();
  for (const regionId of set.spec.regions) {
    if (sharing.listOwnImages === undefined) {
      listings.set(regionId, { ok: false, error: 'this cloud adapter cannot list images', terminal: true });
      continue;
    }
    try {
      listings.set(regionId, { ok: true, images: await sharing.listOwnImages(regionId, {}) });
    } catch (err: unknown) {
      const e = classify(err);
      listings.set(regionId, { ok: false, error: `${e.reason}: ${e.message}`, terminal: false });
    }
  }
  return listings;
}

function line(name: string, spec: ImageShare['spec']): ChildLine {
  return {
    name,
    regionId: spec.regionId,
    imageId: spec.imageId,
    accounts: [...(spec.accounts ?? [])].sort(),
    expiringAccounts: spec.expiringAccounts ?? [],
    ...(spec.community === undefined ? {} : { community: spec.community }),
  };
}

/** True when Apply would create, set back or delete a child, or is blocked. */
export function setHasChanges(r: SetPlanResult): boolean {
  const c = r.children;
  return r.error === undefined && (c.create.length + c.update.length + c.remove.length > 0 || r.blockers.length > 0);
}

/** The text lines of a set's plan: per region what was found, then each child change and whom it shares with. */
export function renderSetText(r: SetPlanResult): string {
  const c = r.children;
  const lines = [
    `${r.object}: Apply would create ${c.create.length}, keep ${c.keep.length}, set back ${c.update.length} and delete ${c.remove.length} child ImageShare(s)`,
  ];
  if (r.sharesWith.length > 0) lines.push(`    every child shares with: ${r.sharesWith.join(', ')}`);
  for (const g of r.regions) {
    if (g.error !== undefined)
      lines.push(`    ${g.regionId}: cannot list images (${g.error}); its children are left as they are`);
    else if (g.matched === 0) lines.push(`    ${g.regionId}: no Available image matches the selector`);
    else
      lines.push(
        `    ${g.regionId}: ${g.matched} image(s) match, ${g.kept} kept; newest ${g.newestImageId} (${g.newestImageName}, ${g.newestCreationTime})`,
      );
  }
  const whom = (l: ChildLine) => {
    const parts = [
      ...(l.accounts.length > 0 ? [l.accounts.join(', ')] : []),
      ...l.expiringAccounts.map((e) => `${e.id} until ${e.expiresAt}`),
      ...(l.community === true ? ['community'] : []),
    ];
    return parts.length === 0 ? 'nobody' : parts.join(', ');
  };
  for (const l of c.create) lines.push(`    create ${l.name} (${l.regionId} ${l.imageId}): share with ${whom(l)}`);
  for (const l of c.keep) lines.push(`    keep ${l.name} (${l.regionId} ${l.imageId}): share with ${whom(l)}`);
  for (const n of c.update) lines.push(`    set back to the template ${n}`);
  for (const n of c.remove) lines.push(`    delete ${n} (its deletionPolicy applies)`);
  for (const b of r.blockers) lines.push(`    blocked: ${b.reason}: ${b.message}`);
  if (r.note) lines.push(`    note: ${r.note}`);
  return `${lines.join('\n')}\n`;
}
