// The planner: a pure function from (spec, what the cloud shows, what this object manages) to the ordered list of
// ECS writes that makes the cloud equal to the spec. It is the one place that decides what gets shared, so the
// API.md safety invariant is enforced here and tested hardest (test/unit/plan-shares.test.ts and the property test):
//   - a grant only ever names accounts in spec.accounts;
//   - publish only ever happens when spec.community is true;
//   - in Additive mode a revoke only ever names accounts this object granted (managedAccounts);
//   - operations run unpublish → revoke → grant → publish (least exposure first);
//   - each call carries at most 10 accounts, IsPublic is never mixed with accounts, and the 50-account quota is
//     checked before any grant is planned.
import { Reason } from '../api/reasons.ts';
import { CommunityAction, DeletionPolicy, type ImageShareSpec, type PlanStatus, SharePolicy } from '../api/types.ts';
import { inBatches, MAX_ACCOUNTS_PER_IMAGE, type ObservedImage } from '../cloud/port.ts';

export type ShareOperation =
  | { kind: 'unpublish' }
  | { kind: 'revoke'; accounts: string[] }
  | { kind: 'grant'; accounts: string[] }
  | { kind: 'publish' };

/** Why part of the desired state cannot be planned; the rest of the plan still runs. */
export interface PlanBlocker {
  reason: Reason;
  message: string;
  /** The accounts that could not be granted because of this blocker. */
  accounts: string[];
}

export interface SharePlan {
  operations: ShareOperation[];
  grant: string[];
  revoke: string[];
  community?: CommunityAction;
  blockers: PlanBlocker[];
  /** Accounts shared in the cloud that this object neither wants nor manages (reported in Additive mode). */
  unmanagedShares: string[];
  /** Calls left for a later pass because this one reached `maxCalls` (absent or 0 when the plan is complete). */
  deferredCalls?: number;
}

export interface PlanInput {
  desiredAccounts: readonly string[];
  /** undefined = never touch the community flag. */
  desiredCommunity: boolean | undefined;
  sharePolicy: SharePolicy;
  observedAccounts: readonly string[];
  observedCommunity: boolean;
  /** Encrypted images can never be published; the planner refuses before ECS would. */
  observedEncrypted?: boolean;
  managedAccounts: readonly string[];
  maxAccountsPerImage?: number;
  /** At most this many calls per pass (the rest wait for the next pass), so one object cannot hog the budget. */
  maxCalls?: number;
}

/** The planner's input from a spec, what a read showed and what the object granted (the controller's and `plan`'s). */
export function planInputFor(
  spec: Pick<ImageShareSpec, 'accounts' | 'community' | 'sharePolicy'>,
  observed: Pick<ObservedImage, 'sharedAccounts' | 'community' | 'encrypted'>,
  managedAccounts: readonly string[],
): PlanInput {
  return {
    desiredAccounts: spec.accounts ?? [],
    desiredCommunity: spec.community,
    sharePolicy: spec.sharePolicy ?? SharePolicy.Authoritative,
    observedAccounts: observed.sharedAccounts.map((a) => a.id),
    observedCommunity: observed.community,
    observedEncrypted: observed.encrypted,
    managedAccounts,
  };
}

/**
 * Plans the writes that bring the cloud to the spec. Never throws; what cannot be done is returned as blockers.
 * Grants that would take the image past the quota are trimmed (spec order wins) and reported as a blocker.
 */
export function planShares(input: PlanInput): SharePlan {
  const desired = new Set(input.desiredAccounts);
  const observed = new Set(input.observedAccounts);
  const managed = new Set(input.managedAccounts);
  const quota = input.maxAccountsPerImage ?? MAX_ACCOUNTS_PER_IMAGE;

  const revoke = sorted(
    [...observed].filter(
      (id) => !desired.has(id) && (input.sharePolicy === SharePolicy.Authoritative || managed.has(id)),
    ),
  );
  const wanted = input.desiredAccounts.filter((id, i) => !observed.has(id) && input.desiredAccounts.indexOf(id) === i);
  const unpublish = input.desiredCommunity === false && input.observedCommunity;
  const blockers: PlanBlocker[] = [];
  let publish = input.desiredCommunity === true && !input.observedCommunity;
  if (publish && input.observedEncrypted) {
    blockers.push({
      reason: Reason.EncryptedImageNotPublishable,
      message:
        'The image is encrypted, and ECS cannot publish encrypted images as community images; publish an unencrypted copy or drop community: true.',
      accounts: [],
    });
    publish = false;
  }

  let grant = wanted;
  const communityAfterUnpublish = input.observedCommunity && !unpublish;
  if (grant.length > 0 && communityAfterUnpublish) {
    blockers.push({
      reason: Reason.ImageIsCommunity,
      message:
        'The image is a community image, which ECS cannot share with specific accounts; set community: false to unpublish it first.',
      accounts: grant,
    });
    grant = [];
  }
  const room = quota - (observed.size - revoke.length);
  if (grant.length > room) {
    const over = grant.slice(Math.max(room, 0));
    blockers.push({
      reason: Reason.AccountQuotaExceeded,
      message: `An image can be shared with at most ${quota} accounts; ${over.length} more would exceed that, so they were not shared.`,
      accounts: over,
    });
    grant = grant.slice(0, Math.max(room, 0));
  }
  grant = sorted(grant);

  const community = unpublish ? CommunityAction.Unpublish : publish ? CommunityAction.Publish : undefined;
  const unmanagedShares = sorted([...observed].filter((id) => !desired.has(id) && !revoke.includes(id)));
  return withinBudget(
    {
      operations: orderOperations(grant, revoke, community),
      grant,
      revoke,
      ...(community ? { community } : {}),
      blockers,
      unmanagedShares,
      deferredCalls: 0,
    },
    input.maxCalls,
  );
}

/**
 * The plan cut to its first `maxCalls` operations (least exposing first, so what is cut is always the more
 * exposing tail); grant/revoke/community then list exactly what the kept operations do.
 */
function withinBudget(plan: SharePlan, maxCalls: number | undefined): SharePlan {
  if (maxCalls === undefined || plan.operations.length <= maxCalls) return plan;
  const operations = plan.operations.slice(0, Math.max(0, maxCalls));
  const of = (kind: 'grant' | 'revoke') => operations.flatMap((op) => (op.kind === kind ? op.accounts : []));
  const kept = operations.find((op) => op.kind === 'publish' || op.kind === 'unpublish');
  const { community: _dropped, ...rest } = plan;
  return {
    ...rest,
    operations,
    grant: of('grant'),
    revoke: of('revoke'),
    ...(kept ? { community: kept.kind === 'publish' ? CommunityAction.Publish : CommunityAction.Unpublish } : {}),
    deferredCalls: plan.operations.length - operations.length,
  };
}

export interface DeletionInput {
  deletionPolicy: DeletionPolicy;
  observedAccounts: readonly string[];
  observedCommunity: boolean;
  managedAccounts: readonly string[];
  managedCommunity: boolean;
}

/**
 * Plans the cleanup when the object is deleted. Retain leaves the cloud alone; Revoke removes exactly what this
 * object manages and unpublishes only if this object published.
 */
export function planDeletion(input: DeletionInput): SharePlan {
  const empty: SharePlan = {
    operations: [],
    grant: [],
    revoke: [],
    blockers: [],
    unmanagedShares: [],
    deferredCalls: 0,
  };
  if (input.deletionPolicy === DeletionPolicy.Retain) return empty;
  const observed = new Set(input.observedAccounts);
  const revoke = sorted(input.managedAccounts.filter((id) => observed.has(id)));
  const community = input.managedCommunity && input.observedCommunity ? CommunityAction.Unpublish : undefined;
  return {
    ...empty,
    operations: orderOperations([], revoke, community),
    revoke,
    ...(community ? { community } : {}),
  };
}

/** unpublish → revoke → grant → publish, each account list cut into calls of at most 10. */
function orderOperations(grant: string[], revoke: string[], community: CommunityAction | undefined): ShareOperation[] {
  const ops: ShareOperation[] = [];
  if (community === CommunityAction.Unpublish) ops.push({ kind: 'unpublish' });
  for (const accounts of inBatches(revoke)) ops.push({ kind: 'revoke', accounts });
  for (const accounts of inBatches(grant)) ops.push({ kind: 'grant', accounts });
  if (community === CommunityAction.Publish) ops.push({ kind: 'publish' });
  return ops;
}

/** The plan as status.plan shows it. */
export function planStatus(plan: SharePlan): PlanStatus {
  return { grant: plan.grant, revoke: plan.revoke, ...(plan.community ? { community: plan.community } : {}) };
}

function sorted(ids: Iterable<string>): string[] {
  return [...ids].sort();
}
