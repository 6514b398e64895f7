// Status computation: a pure function from what one reconcile pass saw and did to the next status. The
// reconciler writes the result once, and only when it differs from what is stored.
import { Reason } from '../api/reasons.ts';
import {
  type AccountOutcome,
  AccountState,
  ConditionType,
  type ImageShare,
  type ImageShareStatus,
} from '../api/types.ts';
import type { CloudError, ObservedImage } from '../cloud/port.ts';
import { OWNER_TAG } from './claims.ts';
import { buildConditions, rfc3339, type Summary } from './conditions.ts';
import { expiredIn } from './expiry.ts';
import { ownershipStatus } from './ownership.ts';
import type { PassResult } from './pass.ts';
import { planStatus, type SharePlan } from './plan-shares.ts';

/** Computes the next status. lastSyncTime moves only when something else in the status moved. */
export function computeStatus(obj: ImageShare, pass: PassResult, now: Date): ImageShareStatus {
  const prev = obj.status ?? {};
  // The intent record is bookkeeping, not an outcome: once an object has conditions they keep describing the last
  // finished pass (a retry under throttling must not flap Ready between Unknown and False, nor re-fire Warnings).
  if (pass.kind === 'applying' && prev.conditions?.length) return { ...prev, ...ownershipStatus(pass.ownership) };
  const generation = obj.metadata.generation ?? 0;
  const summary = summarize(obj, pass);
  const next: ImageShareStatus = { ...prev, ...observedFields(obj, pass), observedGeneration: generation };
  next.conditions = buildConditions(prev.conditions, summary, generation, now);
  const { lastSyncTime: _a, ...a } = next;
  const { lastSyncTime: _b, ...b } = prev;
  const observedCloud = pass.kind === 'planned' || pass.kind === 'applied';
  if (observedCloud && (!sameStatus(a, b) || prev.lastSyncTime === undefined)) next.lastSyncTime = rfc3339(now);
  return next;
}

/** Structural equality of two statuses (key order independent), used to skip no-op writes. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([x], [y]) => (x < y ? -1 : 1)),
        )
      : val,
  );
}

function observedFields(obj: ImageShare, pass: PassResult): ImageShareStatus {
  switch (pass.kind) {
    case 'planned': {
      const { effective, ownership } = pass.settled;
      return {
        ...imageFields(effective),
        ...ownershipStatus(ownership),
        accounts: accountOutcomes(obj, effective, pass.plan),
        plan: planStatus(pass.plan),
      };
    }
    case 'applying':
      return {
        ...imageFields(pass.settled.effective),
        ...ownershipStatus(pass.ownership),
        plan: planStatus(pass.plan),
      };
    case 'applied': {
      const { outcome, observed, next, ownership } = pass;
      const stoppedBy = outcome.error?.kind === 'terminal' ? outcome.error : undefined;
      return {
        ...imageFields(observed),
        ...ownershipStatus(ownership),
        accounts: accountOutcomes(obj, observed, next, outcome.failedAccounts, stoppedBy),
        plan: planStatus(next),
      };
    }
    default:
      return {};
  }
}

function imageFields(observed: ObservedImage): ImageShareStatus {
  return {
    image: { name: observed.name, status: observed.status, encrypted: observed.encrypted },
    community: observed.community,
    sharedAccounts: observed.sharedAccounts.map((a) => a.id).sort(),
    sharedAccountCount: observed.sharedAccounts.length,
  };
}

/**
 * Per wanted account: Shared, or Failed with the reason that stopped it (its own error, a plan blocker, or a
 * terminal error that stopped the whole plan), or Pending (not done yet, e.g. a transient error or Plan mode).
 */
function accountOutcomes(
  obj: ImageShare,
  observed: ObservedImage,
  plan: SharePlan,
  failed: ReadonlyMap<string, CloudError> = new Map(),
  stoppedBy?: CloudError,
): AccountOutcome[] {
  const shared = new Map(observed.sharedAccounts.map((a) => [a.id, a.sharedTime]));
  const blockedBy = new Map(plan.blockers.flatMap((b) => b.accounts.map((id) => [id, b] as const)));
  const wanted = new Set(obj.spec.accounts ?? []);
  // Accounts outside the spec appear only when a revoke of them failed: the user must see why they are still shared.
  const revokeFailures = [...failed]
    .filter(([id]) => !wanted.has(id))
    .map(
      ([id, err]): AccountOutcome => ({
        id,
        state: AccountState.Failed,
        reason: err.reason,
        message: `Could not be revoked: ${err.message}`,
      }),
    );
  const until = new Map((obj.spec.expiringAccounts ?? []).map((e) => [e.id, e.expiresAt]));
  const outcomes = [...wanted].sort().map((id): AccountOutcome => {
    const ends = until.get(id);
    if (shared.has(id)) {
      const t = shared.get(id);
      return { id, state: AccountState.Shared, ...(t ? { sharedTime: t } : {}), ...(ends ? { expiresAt: ends } : {}) };
    }
    const err = failed.get(id);
    if (err) return { id, state: AccountState.Failed, reason: err.reason, message: err.message };
    const blocker = blockedBy.get(id);
    if (blocker) return { id, state: AccountState.Failed, reason: blocker.reason, message: blocker.message };
    if (stoppedBy) return { id, state: AccountState.Failed, reason: stoppedBy.reason, message: stoppedBy.message };
    return { id, state: AccountState.Pending };
  });
  const expired = expiredIn(obj.spec).map(
    (e): AccountOutcome => ({
      id: e.id,
      state: AccountState.Expired,
      expiresAt: e.expiresAt,
      message: shared.has(e.id)
        ? `Expired at ${e.expiresAt}; still shared until the revoke reaches ECS.`
        : `Expired at ${e.expiresAt}; not shared.`,
    }),
  );
  const failedRevoke = new Set(revokeFailures.map((o) => o.id));
  return [...outcomes, ...revokeFailures, ...expired.filter((o) => !failedRevoke.has(o.id))].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
}

/** The Ready summary and the abnormal condition a pass comes to (rendered into conditions by computeStatus). */
export function summarize(obj: ImageShare, pass: PassResult): Summary {
  switch (pass.kind) {
    case 'applying':
      return {
        ready: 'Unknown',
        reason: Reason.Progressing,
        message: `Applying: ${describePlan(pass.plan)}.`,
        abnormal: ConditionType.Reconciling,
      };
    case 'suspended':
      return {
        ready: 'False',
        reason: Reason.Suspended,
        message: 'Reconciliation is suspended: the cloud is neither observed nor changed until spec.suspend is false.',
      };
    case 'duplicate':
      return {
        ready: 'False',
        reason: Reason.DuplicateImageShare,
        message: pass.elsewhere
          ? `Image ${obj.spec.imageId} in ${obj.spec.regionId} is claimed by another installation: its tag ${OWNER_TAG} names ${pass.ownerKey} (cluster ID/namespace/name@installation ID). Delete one of the two ImageShares; if that one no longer exists, remove the tag from the image.`
          : `ImageShare ${pass.ownerKey} already manages image ${obj.spec.imageId} in ${obj.spec.regionId}; delete one of the two.`,
        abnormal: ConditionType.Stalled,
      };
    case 'blocked':
      return {
        ready: 'False',
        reason: pass.reason,
        message: pass.message,
        abnormal: pass.transient ? ConditionType.Reconciling : ConditionType.Stalled,
      };
    case 'observeFailed':
      return errorSummary(pass.error);
    case 'planned':
      return planSummary(pass.plan);
    case 'applied': {
      const summary = withRevokedOutside(appliedSummary(obj, pass), obj, pass);
      return pass.note ? { ...summary, message: `${summary.message} ${pass.note}` } : summary;
    }
  }
}

function errorSummary(error: CloudError): Summary {
  if (error.kind === 'terminal')
    return { ready: 'False', reason: error.reason, message: error.message, abnormal: ConditionType.Stalled };
  return {
    ready: 'False',
    reason: error.reason,
    message: `${error.message} Retrying with backoff.`,
    abnormal: ConditionType.Reconciling,
  };
}

function planSummary(plan: SharePlan): Summary {
  const blocked = plan.blockers.map((b) => ` ${b.message}`).join('');
  if (plan.operations.length === 0 && plan.blockers.length === 0) {
    return { ready: 'True', reason: Reason.PlanInSync, message: 'Plan mode: the cloud already matches the spec.' };
  }
  return {
    ready: 'False',
    reason: Reason.PlanPending,
    message: `Plan mode: Apply would ${describePlan(plan)}; nothing was written.${blocked}`,
  };
}

/**
 * Names the accounts this pass revoked that this object had not granted: shares made before it took the image over
 * (an image shared by hand, now under Git) or since by someone else. The first status of an adopting object says
 * which accounts lost access, not only how many are shared now.
 */
function withRevokedOutside(
  summary: Summary,
  obj: ImageShare,
  pass: Extract<PassResult, { kind: 'applied' }>,
): Summary {
  const ours = new Set(obj.status?.managedAccounts ?? []);
  const outside = pass.outcome.revoked.filter((id) => !ours.has(id)).sort();
  if (outside.length === 0) return summary;
  const n = outside.length;
  return {
    ...summary,
    message: `${summary.message} Revoked ${n} account${n === 1 ? '' : 's'} this object had not shared: ${listAccounts(outside)}.`,
  };
}

function appliedSummary(obj: ImageShare, pass: Extract<PassResult, { kind: 'applied' }>): Summary {
  const { outcome, next, observed } = pass;
  if (outcome.error) return errorSummary(outcome.error);
  const blocker = next.blockers[0];
  if (blocker)
    return { ready: 'False', reason: blocker.reason, message: blocker.message, abnormal: ConditionType.Stalled };
  if (outcome.failedAccounts.size > 0) {
    const total = new Set(obj.spec.accounts ?? []).size;
    const list = [...outcome.failedAccounts]
      .slice(0, 5)
      .map(([id, e]) => `${id} (${e.reason})`)
      .join(', ');
    const more = outcome.failedAccounts.size > 5 ? ` and ${outcome.failedAccounts.size - 5} more` : '';
    return {
      ready: 'False',
      reason: Reason.AccountsFailed,
      message: `${outcome.failedAccounts.size} of ${total} accounts could not be shared: ${list}${more}; see status.accounts. The others are shared.`,
      abnormal: ConditionType.Stalled,
    };
  }
  if (next.operations.length > 0) {
    return {
      ready: 'False',
      reason: Reason.Progressing,
      message: `Applied part of the changes; a following pass will ${describePlan(next)}.`,
      abnormal: ConditionType.Reconciling,
    };
  }
  if (pass.unknownAgeMs !== undefined) {
    return {
      ready: 'False',
      reason: Reason.Progressing,
      message:
        'ECS did not answer some writes, which may or may not have been applied; waiting for a read to show their outcome.',
      abnormal: ConditionType.Reconciling,
    };
  }
  const contested = pass.contested;
  if (contested && (contested.accounts.length > 0 || contested.community)) {
    // Never Synced while a read shows exposure the spec excludes: the revoke may lag, or may not have applied.
    const what = [
      ...(contested.accounts.length > 0 ? [`shared with ${listAccounts(contested.accounts)}`] : []),
      ...(contested.community ? ['published as a community image'] : []),
    ].join(' and ');
    return {
      ready: 'False',
      reason: Reason.Progressing,
      message: `A read of ECS still shows the image ${what}, which this object revoked; checking again when the confirmation window ends.`,
      abnormal: ConditionType.Reconciling,
    };
  }
  return { ready: 'True', reason: Reason.Synced, message: syncedMessage(observed, next) };
}

/** Up to 5 account IDs, then how many more. */
function listAccounts(ids: readonly string[]): string {
  const more = ids.length > 5 ? ` and ${ids.length - 5} more` : '';
  return `${ids.slice(0, 5).join(', ')}${more}`;
}

function syncedMessage(observed: ObservedImage, next: SharePlan): string {
  const n = observed.sharedAccounts.length;
  let msg = `Shared with ${n} account${n === 1 ? '' : 's'}`;
  if (observed.community) msg += '; published as a community image';
  if (next.unmanagedShares.length > 0)
    msg += `; ${next.unmanagedShares.length} of them shared outside this object (left alone in Additive mode)`;
  return `${msg}.`;
}

/** "grant 3, revoke 1, publish" — the exact operations, for messages and events. */
export function describePlan(plan: SharePlan): string {
  const parts: string[] = [];
  if (plan.community === 'Unpublish') parts.push('unpublish');
  if (plan.revoke.length) parts.push(`revoke ${plan.revoke.length} account${plan.revoke.length === 1 ? '' : 's'}`);
  if (plan.grant.length) parts.push(`grant ${plan.grant.length} account${plan.grant.length === 1 ? '' : 's'}`);
  if (plan.community === 'Publish') parts.push('publish');
  return parts.length ? parts.join(', ') : 'change nothing';
}
