// Ownership bookkeeping that survives crashes, conflicts and read-after-write lag (ADR 0007). Pure functions over
// the object's recorded ownership (status.managedAccounts, managedCommunity, pendingWrites) and what ECS showed:
//
//   settle        at the start of a pass: confirm pending writes a read now shows, adopt pending grants that are
//                 shared, expire what the confirmation window no longer covers, and lay the writes still inside
//                 the window over the read (the "effective" view the planner and the status use);
//   withIntent    before any grant or publish is sent: record it as pending, so a crash right after ECS accepts it
//                 still leaves it owned;
//   afterWrites   once the writes are done: accepted writes become owned and pending (until a read confirms them),
//                 refused and unsent ones are forgotten, ones whose answer was lost stay pending.
import { Reason } from '../api/reasons.ts';
import { type ImageShareStatus, PendingAction, type PendingWrite } from '../api/types.ts';
import type { ObservedImage } from '../cloud/port.ts';
import { rfc3339 } from './conditions.ts';
import type { ExecutionOutcome } from './execute-plan.ts';
import type { SharePlan } from './plan-shares.ts';

export interface Ownership {
  /** Accounts this object's accepted grants added (and that may still be shared). */
  managedAccounts: string[];
  /** This object published the image. */
  managedCommunity: boolean;
  pendingWrites: PendingWrite[];
  /**
   * Per managed account, the SharedTime ECS reported for our grant. A later read with a newer SharedTime means the
   * share was revoked and made again by someone else since: it is theirs, no longer ours (ECS's clock on both
   * sides, so no clock-skew margin is needed here).
   */
  managedSince?: Record<string, string>;
}

export interface Settled {
  /** The read with still-unconfirmed writes laid over it: what the cloud is taken to hold this pass. */
  effective: ObservedImage;
  ownership: Ownership;
  /** Accounts that may be shared because of this object: managed ones plus grants whose outcome is unknown. */
  ours: string[];
  /**
   * What the read shows exposed that a revoke (or unpublish) of ours, still inside its window, is believed to have
   * undone: the read may lag, or the write may not have applied. The status names them until a read agrees.
   */
  contested: { accounts: string[]; community: boolean };
}

const POLL_MIN_MS = 2_000;
const POLL_MAX_MS = 30_000;

/** The ownership record as the status fields that hold it (the inverse of ownershipOf). */
export function ownershipStatus(own: Ownership): ImageShareStatus {
  return {
    managedAccounts: own.managedAccounts,
    managedCommunity: own.managedCommunity,
    pendingWrites: own.pendingWrites,
    managedSince: own.managedSince ?? {},
  };
}

export function ownershipOf(
  status:
    | {
        managedAccounts?: string[];
        managedCommunity?: boolean;
        pendingWrites?: PendingWrite[];
        managedSince?: Record<string, string>;
      }
    | undefined,
): Ownership {
  return {
    managedAccounts: [...(status?.managedAccounts ?? [])],
    managedCommunity: status?.managedCommunity ?? false,
    pendingWrites: [...(status?.pendingWrites ?? [])],
    managedSince: { ...(status?.managedSince ?? {}) },
  };
}

/**
 * Reconciles the recorded ownership with a fresh read. A pending write the read shows is confirmed (a pending grant
 * that is shared becomes managed; a pending publish on a community image becomes managedCommunity), and still
 * believed for the rest of its window, over a staler read. One the read does not show yet is believed while it is
 * younger than `windowMs` (a write whose outcome is unknown only while it
 * is no longer wanted, so it is undone; a wanted one is sent again), and dropped after that: from then on the read
 * is the truth, and a difference is drift. Managed accounts that are no longer wanted count as shared, so they are
 * revoked (and only then forgotten), even when a lagging read does not show them.
 */
export function settle(
  own: Ownership,
  observed: ObservedImage,
  wanted: readonly string[],
  now: Date,
  windowMs: number,
  wantPublic = false,
): Settled {
  const want = new Set(wanted);
  const shared = new Set(observed.sharedAccounts.map((a) => a.id));
  const managed = new Set(own.managedAccounts);
  const sinceOf = new Map(Object.entries(own.managedSince ?? {}));
  const sharedTime = new Map(observed.sharedAccounts.map((a) => [a.id, a.sharedTime]));
  let managedCommunity = own.managedCommunity;
  let community = observed.community;
  let kept: PendingWrite[] = [];
  const contested: string[] = [];
  let contestedCommunity = false;
  for (const w of latestPerTarget(own.pendingWrites)) {
    const age = now.getTime() - Date.parse(w.since);
    const fresh = age < windowMs;
    const id = w.account ?? '';
    switch (w.action) {
      case PendingAction.Grant:
        if (shared.has(id)) {
          // Adopt what our write may have shared. A share clearly older than the intent is someone else's, unless
          // the read is lagging (it may show an earlier share that was revoked since): keep the intent for the window.
          // A confirmed write stays pending for its whole window too, so a staler read after this one (another
          // replica, another endpoint) is not taken for drift.
          if (!sharedBefore(observed, id, w.since)) managed.add(id);
          if (fresh) kept.push(w);
        } else if (fresh) {
          kept.push(w);
          // An accepted grant is believed over a lagging read. One whose outcome is unknown (a crash or a lost
          // answer) is believed only if it is no longer wanted, so it gets revoked; a wanted one is simply sent
          // again (a new intent replaces this entry), so a crash never delays the rest of a plan by the window.
          if (managed.has(id) || !want.has(id)) shared.add(id);
        }
        break;
      case PendingAction.Revoke:
        if (!fresh) break;
        // A SharedTime newer than that of the share we revoked is a new share someone else made since, not a stale
        // read: the revoke is over and the share is theirs (an older record without sharedTime cannot tell).
        if (newer(sharedTime.get(id), w.sharedTime)) {
          managed.delete(id);
          break;
        }
        kept.push(w);
        if (shared.delete(id)) contested.push(id);
        break;
      case PendingAction.Publish:
        if (observed.community) managedCommunity = true;
        if (fresh) {
          kept.push(w);
          if (!observed.community && (managedCommunity || !wantPublic)) community = true;
        }
        break;
      case PendingAction.Unpublish:
        if (!fresh) break;
        kept.push(w);
        if (observed.community) {
          community = false;
          contestedCommunity = true;
        }
        break;
    }
  }
  // A managed account the read shows shared since later than our grant was revoked and shared again by someone
  // else: theirs now (Additive never revokes it, a Revoke deletion leaves it). A read showing an older SharedTime
  // is only a stale one.
  // (The first read that shows our grant records its SharedTime; withIntent clears it when we grant again.)
  for (const id of managed) {
    const t = sharedTime.get(id);
    if (t === undefined) continue;
    const ours = sinceOf.get(id);
    if (ours === undefined) sinceOf.set(id, t);
    else if (Date.parse(t) > Date.parse(ours)) {
      managed.delete(id);
      sinceOf.delete(id);
      kept = kept.filter((w) => !(w.action === PendingAction.Grant && w.account === id));
    }
  }
  for (const id of sinceOf.keys()) if (!managed.has(id)) sinceOf.delete(id);
  // What this object owns and no longer wants is undone, whatever a (possibly lagging) read shows: forgetting it
  // because one read did not show it could leave it shared and owned by nobody.
  for (const id of managed) if (!want.has(id)) shared.add(id);
  const byId = new Map(observed.sharedAccounts.map((a) => [a.id, a]));
  const effective: ObservedImage = {
    ...observed,
    community,
    sharedAccounts: [...shared].sort().map((id) => byId.get(id) ?? { id }),
  };
  const ownership = {
    managedAccounts: [...managed].sort(),
    managedCommunity,
    pendingWrites: kept,
    managedSince: Object.fromEntries([...sinceOf].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  return {
    effective,
    ownership,
    ours: oursOf(ownership),
    contested: { accounts: contested.sort(), community: contestedCommunity },
  };
}

/** True when both SharedTimes (ECS's clock) are known and `t` is later than `than`. */
function newer(t: string | undefined, than: string | undefined): boolean {
  return t !== undefined && than !== undefined && Date.parse(t) > Date.parse(than);
}

/**
 * How far this process's clock may be from ECS's. ECS refuses requests whose timestamp is more than 15 minutes off
 * (InvalidTimeStamp.Expired), so any write it accepted came from a clock within that distance.
 */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;

/**
 * True when ECS reports `id` shared (SharedTime, ECS's clock, whole seconds) before `since` (our clock) by more than
 * any clock skew ECS accepts: not ours to adopt. A closer share may be our own write seen through a clock that runs
 * ahead (a stepped or drifting node clock): adopting it can at worst make a share someone else made moments before
 * our grant count as ours, while refusing it would leave our own grant shared and owned by nobody.
 */
function sharedBefore(observed: ObservedImage, id: string, since: string): boolean {
  const t = observed.sharedAccounts.find((a) => a.id === id)?.sharedTime;
  return t !== undefined && Date.parse(t) < Math.floor(Date.parse(since) / 1000) * 1000 - MAX_CLOCK_SKEW_MS;
}

/**
 * Only the latest pending write per account (and per community flag) counts: a grant recorded after a revoke of the
 * same account supersedes it, and vice versa. The list is in the order the writes were recorded.
 */
function latestPerTarget(writes: readonly PendingWrite[]): PendingWrite[] {
  const target = (w: PendingWrite) =>
    w.action === PendingAction.Publish || w.action === PendingAction.Unpublish
      ? 'community'
      : `account:${w.account ?? ''}`;
  const last = new Map<string, PendingWrite>();
  for (const w of writes) last.set(target(w), w);
  return [...last.values()];
}

/**
 * The ownership to write when another writer (a deposed leader, an overlapping installation) recorded `theirs`
 * after this pass read `base`: ours, plus whatever they added that we never saw (managed accounts, a publish,
 * pending writes). Over-claiming is safe (at worst a revoke too many of an account we once granted); dropping what
 * they recorded could leave a share owned by nobody. Pending writes stay in time order, so the latest per target
 * still wins in settle.
 */
export function mergeOwnership(base: Ownership, theirs: Ownership, ours: Ownership): Ownership {
  const known = new Set(base.managedAccounts);
  const managed = new Set(ours.managedAccounts);
  for (const id of theirs.managedAccounts) if (!known.has(id)) managed.add(id);
  const key = (w: PendingWrite) => `${w.action}/${w.account ?? ''}/${w.since}`;
  const seen = new Set([...base.pendingWrites, ...ours.pendingWrites].map(key));
  const added = theirs.pendingWrites.filter((w) => !seen.has(key(w)));
  const pending = [...added, ...ours.pendingWrites]
    .map((w, i) => ({ w, i, t: Date.parse(w.since) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map(({ w }) => w);
  const since = { ...(theirs.managedSince ?? {}), ...(ours.managedSince ?? {}) };
  return {
    managedAccounts: [...managed].sort(),
    managedCommunity: ours.managedCommunity || (theirs.managedCommunity && !base.managedCommunity),
    pendingWrites: pending,
    managedSince: Object.fromEntries(Object.entries(since).filter(([id]) => managed.has(id))),
  };
}

/** Accounts that may be shared because of this object: managed, or granted with the outcome still unknown. */
export function oursOf(own: Ownership): string[] {
  const ids = new Set(own.managedAccounts);
  for (const w of own.pendingWrites) if (w.action === PendingAction.Grant && w.account) ids.add(w.account);
  return [...ids].sort();
}

/** This object published the image, or sent a publish whose outcome is not known yet. */
export function mayHavePublished(own: Ownership): boolean {
  return own.managedCommunity || own.pendingWrites.some((w) => w.action === PendingAction.Publish);
}

/**
 * Age in ms of the oldest pending write whose outcome is unknown (recorded as intent, answer never seen: a grant
 * not managed, a publish while managedCommunity is false), or undefined when there is none.
 */
export function oldestUnknownMs(own: Ownership, now: Date): number | undefined {
  const managed = new Set(own.managedAccounts);
  const unknown = own.pendingWrites.filter(
    (w) =>
      (w.action === PendingAction.Grant && !managed.has(w.account ?? '')) ||
      (w.action === PendingAction.Publish && !own.managedCommunity),
  );
  if (unknown.length === 0) return undefined;
  return Math.max(...unknown.map((w) => now.getTime() - Date.parse(w.since)));
}

/**
 * Time in ms until the earliest pending revoke or unpublish leaves its window, or undefined when there is none. A
 * revoke is believed over reads only for its window: the pass comes back then, so a revoke ECS accepted but did
 * not apply, or a share someone re-made since, is seen at once and not at the next resync.
 */
export function recheckInMs(own: Ownership, now: Date, windowMs: number): number | undefined {
  const ends = own.pendingWrites
    .filter((w) => w.action === PendingAction.Revoke || w.action === PendingAction.Unpublish)
    .map((w) => Date.parse(w.since) + windowMs - now.getTime());
  return ends.length === 0 ? undefined : Math.max(0, Math.min(...ends));
}

/** True when the plan sends a write that can expose the image (a grant or a publish): those need intent first. */
export function needsIntent(plan: SharePlan): boolean {
  return plan.grant.length > 0 || plan.community === 'Publish';
}

/** `own` plus a pending entry for every grant and publish in `plan`, stamped `now`. */
export function withIntent(own: Ownership, plan: SharePlan, now: Date): Ownership {
  const since = rfc3339(now);
  const grants = new Set(plan.grant);
  // The new write supersedes any earlier pending one for the same account (a revoke of it included).
  const pending = own.pendingWrites.filter(
    (w) => !((w.action === PendingAction.Grant || w.action === PendingAction.Revoke) && grants.has(w.account ?? '')),
  );
  for (const account of plan.grant) pending.push({ action: PendingAction.Grant, account, since });
  if (plan.community === 'Publish') pending.push({ action: PendingAction.Publish, since });
  // A grant sent again makes a new share: the next read records its SharedTime afresh.
  const managedSince = Object.fromEntries(Object.entries(own.managedSince ?? {}).filter(([id]) => !grants.has(id)));
  return { ...own, pendingWrites: pending, managedSince };
}

/**
 * Ownership after the writes of a pass (`own` being the ownership the intent was recorded on, `prior` the one
 * before it). Accepted grants are managed and pending until confirmed; accepted revokes are no longer managed and
 * pending until confirmed; refused or never-sent grants and publishes are dropped, except that an earlier pass's
 * pending grant of the same account is kept; writes whose answer was lost stay pending with their intent stamp.
 * `read` is the view the plan was made from: an accepted revoke records the SharedTime of the share it revoked.
 */
export function afterWrites(
  own: Ownership,
  plan: SharePlan,
  out: ExecutionOutcome,
  now: Date,
  prior: Ownership,
  read?: ObservedImage,
): Ownership {
  const since = rfc3339(now);
  const managed = new Set(own.managedAccounts);
  const unknownGrants = new Set(out.unknown.grant);
  const planned = new Set(plan.grant);
  const touched = new Set([...out.granted, ...out.revoked]);
  // A grant refused or never sent now may still have landed in an earlier pass (crash, lost answer): that earlier
  // pending entry must survive this pass, or what it may have shared is no longer on record.
  const earlier = new Map(
    prior.pendingWrites
      .filter((w) => w.action === PendingAction.Grant && w.account)
      .map((w) => [w.account as string, w]),
  );
  const restored: PendingWrite[] = [];
  const pending = own.pendingWrites.filter((w) => {
    const id = w.account ?? '';
    if (w.action === PendingAction.Grant && planned.has(id)) {
      if (unknownGrants.has(id)) return true;
      const before = earlier.get(id);
      if (before && !touched.has(id)) restored.push(before);
      return false;
    }
    if ((w.action === PendingAction.Grant || w.action === PendingAction.Revoke) && touched.has(id)) return false;
    if (w.action === PendingAction.Publish && plan.community === 'Publish') {
      if (out.unknown.community === true) return true;
      const before = prior.pendingWrites.find((p) => p.action === PendingAction.Publish);
      if (before && !out.published) restored.push(before);
      return false;
    }
    if (
      (w.action === PendingAction.Publish || w.action === PendingAction.Unpublish) &&
      (out.published || out.unpublished)
    )
      return false;
    return true;
  });
  pending.push(...restored);
  for (const id of out.granted) {
    managed.add(id);
    pending.push({ action: PendingAction.Grant, account: id, since });
  }
  const readTime = new Map(read?.sharedAccounts.map((a) => [a.id, a.sharedTime]));
  for (const id of out.revoked) {
    managed.delete(id);
    // A managed share a lagging read did not show still has its SharedTime on record.
    const sharedTime = readTime.get(id) ?? own.managedSince?.[id];
    pending.push({ action: PendingAction.Revoke, account: id, since, ...(sharedTime ? { sharedTime } : {}) });
  }
  // An account ECS says does not exist shares nothing this object could undo: its ownership ends (the failure is
  // still reported for this pass), or a closed account left the spec would be revoked again on every pass.
  for (const [id, err] of out.failedAccounts) if (err.reason === Reason.AccountNotFound) managed.delete(id);
  let managedCommunity = own.managedCommunity;
  if (out.published) {
    managedCommunity = true;
    pending.push({ action: PendingAction.Publish, since });
  }
  if (out.unpublished) {
    managedCommunity = false;
    pending.push({ action: PendingAction.Unpublish, since });
  }
  const managedSince = Object.fromEntries(Object.entries(own.managedSince ?? {}).filter(([id]) => managed.has(id)));
  return { managedAccounts: [...managed].sort(), managedCommunity, pendingWrites: pending, managedSince };
}

/** `effective` with this pass's accepted writes applied: the status reports it without reading again. */
export function projectWrites(effective: ObservedImage, out: ExecutionOutcome): ObservedImage {
  const ids = new Map(effective.sharedAccounts.map((a) => [a.id, a]));
  for (const id of out.revoked) ids.delete(id);
  for (const id of out.granted) if (!ids.has(id)) ids.set(id, { id });
  const community = out.published || (effective.community && !out.unpublished);
  return {
    ...effective,
    community,
    sharedAccounts: [...ids.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
}

/**
 * When to read again while a write's outcome is unknown: as old as the write, between 2 s and 30 s (2, 4, 8, 16,
 * 30 …), so a lost answer is settled quickly without a fixed-rate poll.
 */
export function pollDelayMs(unknownAgeMs: number): number {
  return Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, unknownAgeMs));
}
