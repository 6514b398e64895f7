// One reconcile pass for one ImageShare. It reads like a table of contents (docs/code-style.md): get → (another
// installation's object: stop) → deletion → suspend → account sets (ADR 0033; one missing: stop) → ownership of the
// image in this cluster → credentials → observe → ownership tag on the image → settle what we wrote before → plan →
// (plan mode stops here) → before the first write of an object that holds nothing, ownership again from a fresh
// LIST → claim the image → finalizer and intent before any exposing write → act → one status write. The pass never reads the cloud twice: the status is computed from the read plus
// the writes ECS accepted, and a later pass confirms them (src/reconcile/ownership.ts, ADR 0007). Cloud and Kubernetes access go through the interfaces in deps,
// so the whole pass runs against fakes in unit tests and against the real apiserver and the ECS emulator in
// integration tests.
import { Reason } from '../api/reasons.ts';
import { classify } from '../cloud/ecs-errors.ts';
import { DEFAULTS } from '../config.ts';
import { DeletionPolicy, FINALIZER, type ImageShare, type ImageShareStatus, Mode } from '../api/types.ts';
import type { Decision } from '../policy/evaluate.ts';
import {
  type CloudError,
  type ImageRef,
  type ImageSharing,
  type ImageSharingFactory,
  type ObservedImage,
  isAbortError,
} from '../cloud/port.ts';
import {
  type ClaimIdentity,
  type CloudClaim,
  cloudClaim,
  keyOf,
  OWNER_TAG,
  ownerTagValue,
  resolveClaim,
} from './claims.ts';
import { computeStatus, sameStatus } from './compute-status.ts';
import { type PassResult, type ReconcileResult, requeueFor } from './pass.ts';
import { driftEvents, type EventSpec, transitionEvents, writeEvents } from './events.ts';
import { type ExecutionOutcome, executePlan } from './execute-plan.ts';
import { asOf } from './expiry.ts';
import { type CredentialsLookup, connect } from './connect.ts';
import {
  afterWrites,
  mayHavePublished,
  mergeOwnership,
  needsIntent,
  oldestUnknownMs,
  type Ownership,
  oursOf,
  ownershipOf,
  ownershipStatus,
  projectWrites,
  recheckInMs,
  type Settled,
  settle,
  withIntent,
} from './ownership.ts';
import { planDeletion, planInputFor, planShares, type SharePlan } from './plan-shares.ts';

export interface ImageShareStore {
  /** A fresh read; null when the object is gone. */
  get(namespace: string, name: string): Promise<ImageShare | null>;
  /** Adds FINALIZER, keeping other finalizers (re-reads and retries when the object moved); returns the object. */
  addFinalizer(obj: ImageShare): Promise<ImageShare>;
  /** Removes exactly FINALIZER, leaving others untouched. */
  removeFinalizer(obj: ImageShare): Promise<void>;
  /**
   * Writes `status` through the /status subresource, pinned to obj's uid and, where the store supports it, to its
   * resourceVersion: 'conflict' when the object moved since obj was read (the reconciler then re-reads and merges
   * the ownership record another writer added, so a late write never erases it). Resolves the new
   * resourceVersion ('ok' from a store that does not report one), or 'gone' when the object no longer exists.
   */
  patchStatus(obj: ImageShare, status: ImageShareStatus): Promise<StatusWrite>;
  /** Every known ImageShare naming (regionId, imageId) (the informer cache's index), for one-image-one-owner. */
  claimants(regionId: string, imageId: string): ImageShare[];
  /**
   * The same from a fresh LIST of every watched namespace, not the cache: a cache may not have seen a sibling
   * created at the same moment (with several namespaces, watch order is not creation order). Unset: the cache.
   */
  listClaimants?(regionId: string, imageId: string): Promise<ImageShare[]>;
}

export type StatusWrite = 'ok' | 'gone' | 'conflict' | { resourceVersion: string };

export type { CredentialsLookup } from './connect.ts';

export type { PassResult, ReconcileResult, Requeue } from './pass.ts';

export interface ReconcileDeps {
  store: ImageShareStore;
  /** Reads spec.credentials.secretRef from the object's own namespace. */
  readSecretCredentials(namespace: string, secretName: string): Promise<CredentialsLookup>;
  cloud: ImageSharingFactory;
  emit(obj: ImageShare, event: EventSpec): void;
  now(): Date;
  random(): number;
  defaultResyncMs: number;
  /** How long an accepted write is believed over a read that does not show it yet (default 60 s). */
  confirmationWindowMs?: number;
  /** At most this many ECS write calls per pass (default 10); the rest wait for the next pass. */
  maxWritesPerPass?: number;
  /**
   * A signal that fires when the object is seen at a generation above `generation` (runtime/spec-watch.ts): the
   * pass then starts no further cloud write from the spec it read.
   */
  specSuperseded?(namespace: string, name: string, generation: number): AbortSignal;
  /** The pass that asked specSuperseded for `signal` ended: the watch may forget it. */
  specReleased?(namespace: string, name: string, signal: AbortSignal): void;
  /** No cloud write starts later than this after the pass began (default 60 s); the next pass continues. */
  passDeadlineMs?: number;
  /**
   * Runs `fn` once after `ms` on the deps' clock and returns a cancel function; the pass deadline uses it, so a fake
   * clock can fire it. Default: an unref'd Node timer.
   */
  setTimer?(fn: () => void, ms: number): () => void;
  /**
   * When set, ownership of an image is also recorded in an ECS tag on the image, so other installations (other
   * clusters, other namespace sets) see it (ADR 0008). Unset: ownership is decided in this cluster only.
   */
  claims?: ClaimIdentity;
  /**
   * The operator's own cloud identity as a fingerprint (src/reconcile/identity.ts operatorIdentityOf), recorded for
   * objects without spec.credentials so a reinstall under another identity does not take ImageNotFound as cleaned up.
   */
  operatorIdentity?: string | undefined;
  /**
   * This installation's ID (--installation-id), recorded in every status it writes. An object whose status names
   * another installation is left alone: two installations whose namespaces overlap never both reconcile it.
   */
  installation?: string;
  /** The tenancy rules (docs/adr/0024, src/policy/policy-cache.ts), asked before any cloud call; unset = no check. */
  policy?(obj: ImageShare): Promise<Decision>;
  /**
   * The accounts of obj's inline `accounts` and `spec.accountSetRefs` together (docs/adr/0033), or why the object
   * stops before any cloud call. Asked only when the object has references; unset: such an object stops.
   */
  accountSets?(obj: ImageShare): AccountSetAccounts;
}

/** What `ReconcileDeps.accountSets` answers: the union to share with no end, or the reason the object stops. */
export type AccountSetAccounts =
  | { ok: true; accounts: string[] | undefined }
  | { ok: false; reason: string; message: string };

/** A pass that wrote nothing and needs no requeue. */
function quiet(result: ReconcileResult['result'], reason: string): ReconcileResult {
  return { requeue: { kind: 'none' }, result, reason, statusWritten: false, cloudWrites: 0 };
}

const NOTHING = quiet('success', 'NotFound');
const ABORTED = quiet('aborted', 'Aborted');
/**
 * The object's status names another installation: this one writes nothing to it, not even its status (the two
 * would overwrite each other's). The log line of the pass says so; if that installation is gone for good, removing
 * status.installation (`kubectl patch --subresource=status`) lets this one take over.
 */
const OTHER_INSTALLATION = quiet('terminal', 'OtherInstallation');

/** One pass's fixed inputs. */
interface Pass {
  deps: ReconcileDeps;
  /** Cancellation from the runtime (leadership lost, shutdown): nothing at all is written after it fires. */
  signal: AbortSignal | undefined;
  /** Also fires when the spec was superseded or the pass deadline passed: no further cloud write starts. */
  writes: AbortSignal | undefined;
  /** Why spec.accountSetRefs did not resolve: the pass stops before any cloud call (withAccountSets). */
  unresolved: PassResult | undefined;
}

/** The signal that gates this pass's cloud writes (cancellation, a newer spec, the pass deadline) and its disposer. */
function writeSignal(
  obj: ImageShare,
  deps: ReconcileDeps,
  signal: AbortSignal | undefined,
): { writes: AbortSignal; dispose: () => void } {
  const deadline = new AbortController();
  const fire = () => deadline.abort(new DOMException('The pass deadline passed.', 'TimeoutError'));
  const ms = deps.passDeadlineMs ?? DEFAULTS.passDeadlineMs;
  const cancel = (deps.setTimer ?? nodeTimer)(fire, ms);
  const signals = [deadline.signal];
  if (signal) signals.push(signal);
  const { namespace, name } = obj.metadata;
  const superseded = deps.specSuperseded?.(namespace, name, obj.metadata.generation ?? 0);
  if (superseded) signals.push(superseded);
  const dispose = () => {
    cancel();
    if (superseded) deps.specReleased?.(namespace, name, superseded);
  };
  return { writes: AbortSignal.any(signals), dispose };
}

function nodeTimer(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, Math.max(0, ms));
  t.unref();
  return () => clearTimeout(t);
}

/**
 * Reconciles namespace/name once. Throws only for Kubernetes API failures (the queue backs off). After `signal`
 * fires it starts no cloud or Kubernetes write and resolves with result 'aborted'.
 */
export async function reconcile(
  namespace: string,
  name: string,
  deps: ReconcileDeps,
  signal?: AbortSignal,
): Promise<ReconcileResult> {
  const stored = await deps.store.get(namespace, name);
  if (!stored) return NOTHING;
  const sets = withAccountSets(stored, deps);
  // The spec as of now: expiringAccounts still in force count as accounts (expiry.ts, ADR 0032).
  const obj = asOf(sets.obj, deps.now());
  if (reconciledElsewhere(obj.status, deps)) return OTHER_INSTALLATION;
  const { writes, dispose } = writeSignal(obj, deps, signal);
  try {
    return await reconcileObject(obj, { deps, signal, writes, unresolved: sets.unresolved });
  } finally {
    dispose();
  }
}

async function reconcileObject(obj: ImageShare, pass: Pass): Promise<ReconcileResult> {
  const { deps, signal } = pass;
  if (obj.metadata.deletionTimestamp) return finalize(obj, pass);
  if (obj.spec.suspend) return finish(obj, { kind: 'suspended' }, pass);
  if (pass.unresolved) return finish(obj, pass.unresolved, pass);
  const verdict = await deps.policy?.(obj);
  if (verdict?.allowed === false) return policyDenied(obj, verdict, pass);
  const local = resolveClaim(obj, deps.store.claimants(obj.spec.regionId, obj.spec.imageId));
  if (!local.isOwner) return finish(obj, { kind: 'duplicate', ownerKey: keyOf(local.owner) }, pass);
  const cloud = await cloudFor(obj, deps);
  if ('blocked' in cloud) return finish(obj, cloud.blocked, pass);
  const seen = await observe(cloud.sharing, refOf(obj), signal);
  if (!seen.ok) return finish(obj, { kind: 'observeFailed', error: seen.error }, pass);
  const tag = deps.claims ? cloudClaim(obj, seen.image.tags, deps.claims) : undefined;
  if (tag?.kind === 'foreign') return finish(obj, { kind: 'duplicate', ownerKey: tag.owner, elsewhere: true }, pass);
  return settleAndWrite(obj, cloud, seen.image, tag, pass);
}

type Denial = Decision & { allowed: false };

function denied(message: string): PassResult {
  return { kind: 'blocked', reason: Reason.PolicyDenied, message, transient: false };
}

/**
 * A denied object writes nothing new. Under Report that is all (no cloud call); under a policy that enforces, it
 * revokes what it itself granted or published, through the deletion cleanup (never anything another object owns).
 */
async function policyDenied(obj: ImageShare, verdict: Denial, pass: Pass): Promise<ReconcileResult> {
  const own = ownershipOf(obj.status);
  if (!verdict.enforce || (oursOf(own).length === 0 && !mayHavePublished(own)))
    return finish(obj, denied(verdict.message), pass);
  const cleaned = await revokeOwned(obj, pass);
  if (pass.signal?.aborted || cleaned === 'aborted') return ABORTED;
  if (cleaned === 'gone') return NOTHING;
  if ('result' in cleaned) return finish(cleaned.obj, cleaned.result, pass);
  const after = await recordProgress(obj, cleaned.left, pass);
  if (after === 'gone') return NOTHING;
  const what = `${cleaned.revoked.length} account(s)${cleaned.unpublished ? ' and unpublished the image' : ''}`;
  const by = `ImageSharePolicy ${verdict.enforcedBy} enforces (enforcement: Revoke)`;
  return finish(after, denied(`${verdict.message}. This object revoked ${what} because ${by}.`), pass);
}

const UNRESOLVABLE: AccountSetAccounts = {
  ok: false,
  reason: Reason.AccountSetNotFound,
  message: 'spec.accountSetRefs cannot be resolved here (no account-set cache); nothing is shared or revoked.',
};

/**
 * The object with spec.accounts widened to the union with its account sets (docs/adr/0033), or, when a reference
 * does not resolve, the object as stored and why it stops: a missing set is never read as empty, which under
 * Authoritative would revoke its accounts.
 */
function withAccountSets(
  obj: ImageShare,
  deps: ReconcileDeps,
): { obj: ImageShare; unresolved: PassResult | undefined } {
  if ((obj.spec.accountSetRefs ?? []).length === 0) return { obj, unresolved: undefined };
  const r = deps.accountSets?.(obj) ?? UNRESOLVABLE;
  if (!r.ok) return { obj, unresolved: { kind: 'blocked', reason: r.reason, message: r.message, transient: false } };
  return { obj: { ...obj, spec: { ...obj.spec, accounts: r.accounts ?? [] } }, unresolved: undefined };
}

/** settle → plan → (plan mode stops here) → owner check from a fresh LIST → claim → intent → act → status. */
async function settleAndWrite(
  obj: ImageShare,
  cloud: { sharing: ImageSharing; identity: string },
  image: ObservedImage,
  tag: CloudClaim | undefined,
  pass: Pass,
): Promise<ReconcileResult> {
  const { deps, signal } = pass;
  const { sharing } = cloud;
  const settled = settle(
    ownershipOf(obj.status),
    image,
    obj.spec.accounts ?? [],
    deps.now(),
    confirmationWindow(deps),
    obj.spec.community === true,
  );
  const plan = planFor(obj, settled.effective, settled.ours, deps);
  if (modeOf(obj) === Mode.Plan) return finish(obj, { kind: 'planned', settled, plan }, pass);
  if (signal?.aborted) return ABORTED;
  const rival = plan.operations.length > 0 || tag?.kind === 'free' ? await freshRival(obj, settled, deps) : undefined;
  if (rival) return finish(obj, { kind: 'duplicate', ownerKey: keyOf(rival) }, pass);
  const claim = tag?.kind === 'free' ? await claimImage(obj, sharing, pass) : {};
  if ('error' in claim) return finish(obj, { kind: 'observeFailed', error: claim.error }, pass);
  const ready = await prepareWrites(obj, settled, plan, pass, cloud.identity);
  if (ready === 'gone') return NOTHING;
  if (ready === 'taken') return OTHER_INSTALLATION;
  if (signal?.aborted) return ABORTED;
  const outcome = interrupted(await executePlan(plan, sharing, refOf(obj), pass.writes), pass);
  const ownership = afterWrites(ready.ownership, plan, outcome, deps.now(), settled.ownership, settled.effective);
  const observed = projectWrites(settled.effective, outcome);
  const next = planFor(obj, observed, oursOf(ownership), deps);
  const applied: PassResult = {
    kind: 'applied',
    outcome,
    observed,
    next,
    ownership,
    unknownAgeMs: oldestUnknownMs(ownership, deps.now()),
    recheckInMs: recheckInMs(ownership, deps.now(), confirmationWindow(deps)),
    contested: settled.contested,
    ...claim,
  };
  const events = [...driftEvents(obj, settled.effective, outcome), ...writeEvents(outcome)];
  return finish(ready.obj, applied, pass, events);
}

/**
 * Before the first write of an object that holds nothing yet, the owner is decided again from a fresh LIST: the
 * cache that made this object the owner may not have seen a sibling applied with it. Costs one LIST per watched
 * namespace, only until the object first holds a share (then resolveClaim keeps it the owner); steady-state
 * passes of an owner make no extra request. Returns the owner when it is not `obj`.
 */
async function freshRival(obj: ImageShare, settled: Settled, deps: ReconcileDeps): Promise<ImageShare | undefined> {
  const own = settled.ownership;
  if (!deps.store.listClaimants || oursOf(own).length > 0 || mayHavePublished(own)) return undefined;
  const verdict = resolveClaim(obj, await deps.store.listClaimants(obj.spec.regionId, obj.spec.imageId));
  return verdict.isOwner ? undefined : verdict.owner;
}

/**
 * Records this object as the image's owner in the owner tag. A refusal (no ecs:TagResources, no room for another
 * tag) does not stop the pass: ownership is then checked in this cluster only, and the returned note says so in the
 * Ready message. A transient failure ends the pass before any write; the retry claims again.
 */
async function claimImage(
  obj: ImageShare,
  sharing: ImageSharing,
  pass: Pass,
): Promise<{ note?: string } | { error: CloudError }> {
  const id = pass.deps.claims;
  if (!id) return {};
  try {
    await sharing.tagImage(refOf(obj), { [OWNER_TAG]: ownerTagValue(id, obj) }, pass.writes);
    return {};
  } catch (err: unknown) {
    if (isAbortError(err)) return {}; // the plan's writes stop at the same signal
    const error = classify(err);
    if (error.kind !== 'terminal') return { error };
    return {
      note: `Ownership is checked in this cluster only, because the image's owner tag could not be written: ${error.message}`,
    };
  }
}

/**
 * Before any write: the finalizer whenever deletion will have cleanup to do (also when a switch to Revoke finds
 * accounts already managed), then, before a write that can expose the image, the intent record (pending grants and
 * publish, and the identity that sends them) in status. ECS is called only after both succeeded, so a crash at any
 * point leaves every possibly-granted account on record. Revokes and unpublishes need no intent.
 */
async function prepareWrites(
  obj: ImageShare,
  settled: Settled,
  plan: SharePlan,
  pass: Pass,
  identity: string,
): Promise<{ obj: ImageShare; ownership: Ownership } | 'gone' | 'taken'> {
  let ownership = needsIntent(plan) ? withIntent(settled.ownership, plan, pass.deps.now()) : settled.ownership;
  const withFinalizer = needsCleanupOnDelete(obj, ownership) ? await ensureFinalizer(obj, pass.deps) : obj;
  // Adding the finalizer may have re-read the object: a status another writer recorded since this pass's read is
  // either another installation's (stop here) or ownership to keep.
  if (!sameStatus(withFinalizer.status ?? {}, obj.status ?? {})) {
    if (reconciledElsewhere(withFinalizer.status, pass.deps)) return 'taken';
    ownership = mergeOwnership(ownershipOf(obj.status), ownershipOf(withFinalizer.status), ownership);
  }
  if (!needsIntent(plan)) return { obj: withFinalizer, ownership };
  const status = {
    ...statusFor(withFinalizer, { kind: 'applying', settled, plan, ownership }, pass.deps),
    grantIdentity: identity,
  };
  const written = await writeStatus(withFinalizer, status, pass.deps);
  if (written === 'gone' || written === 'taken') return written;
  // A merge with another writer's record may have added to the ownership: the pass goes on from the union.
  return { obj: written, ownership: ownershipOf(written.status) };
}

/** Conflicting status writes are re-read and merged this many times before the pass gives up (and backs off). */
const STATUS_WRITE_ATTEMPTS = 5;

/**
 * Writes `status` conditioned on obj's resourceVersion. When another writer moved the object (a deposed leader's
 * late write, an overlapping installation, or just a label or spec edit), re-reads it and keeps, besides this
 * pass's ownership record, whatever that writer added to it (mergeOwnership), then tries again. Returns the object
 * as written (its new resourceVersion, so this pass's next write is not a conflict with itself).
 */
async function writeStatus(
  obj: ImageShare,
  status: ImageShareStatus,
  deps: ReconcileDeps,
): Promise<ImageShare | 'gone' | 'taken'> {
  let base = obj;
  let next = status;
  for (let attempt = 1; ; attempt++) {
    const written = await deps.store.patchStatus(base, next);
    if (written === 'gone') return 'gone';
    if (written !== 'conflict') {
      const resourceVersion = typeof written === 'object' ? written.resourceVersion : base.metadata.resourceVersion;
      return { ...base, metadata: { ...base.metadata, ...(resourceVersion ? { resourceVersion } : {}) }, status: next };
    }
    if (attempt >= STATUS_WRITE_ATTEMPTS)
      throw new Error(`status of ImageShare ${keyOf(obj)} kept changing under ${attempt} writes; retrying later`);
    const retry = await afterConflict(base, next, deps);
    if (typeof retry === 'string') return retry;
    [base, next] = retry;
  }
}

/** Re-reads after a conflicting status write: the object and status to try again, or why not to. */
async function afterConflict(
  base: ImageShare,
  next: ImageShareStatus,
  deps: ReconcileDeps,
): Promise<[ImageShare, ImageShareStatus] | 'gone' | 'taken'> {
  const current = await deps.store.get(base.metadata.namespace, base.metadata.name);
  if (!current || current.metadata.uid !== base.metadata.uid) return 'gone';
  if (reconciledElsewhere(current.status, deps)) return 'taken';
  const merged = mergeOwnership(ownershipOf(base.status), ownershipOf(current.status), ownershipOf(next));
  return [current, { ...next, ...ownershipStatus(merged) }];
}

/** The status names an installation other than this one. */
function reconciledElsewhere(status: ImageShareStatus | undefined, deps: ReconcileDeps): boolean {
  return (
    deps.installation !== undefined && status?.installation !== undefined && status.installation !== deps.installation
  );
}

/** The status a pass computed, recording which installation wrote it. */
function statusFor(obj: ImageShare, result: PassResult, deps: ReconcileDeps): ImageShareStatus {
  const status = computeStatus(obj, result, deps.now());
  return deps.installation === undefined ? status : { ...status, installation: deps.installation };
}

/**
 * Deletion: apply the deletion policy, then release the finalizer. Cleanup depends on what this object itself may
 * have exposed, not on whether it still owns the image: a duplicate that lost ownership still undoes its own grants.
 */
async function finalize(obj: ImageShare, pass: Pass): Promise<ReconcileResult> {
  const held = obj.metadata.finalizers?.includes(FINALIZER) ?? false;
  const cleanup = needsCleanupOnDelete(obj, ownershipOf(obj.status));
  // Without our finalizer (a switch to Revoke no pass has seen yet), cleanup still runs while another finalizer
  // holds the object: best effort, as the object may go at any moment.
  if (!held && !cleanup) return NOTHING;
  if (cleanup) {
    const failed = await revokeOwned(obj, pass);
    if (pass.signal?.aborted) return ABORTED;
    if (failed === 'gone') return NOTHING;
    if (failed !== 'aborted' && 'result' in failed) return finish(failed.obj, failed.result, pass);
  }
  if (held) await pass.deps.store.removeFinalizer(obj);
  return { ...NOTHING, reason: cleanup ? 'Revoked' : 'Retained' };
}

/** What a cleanup that could not finish reports, on the object as its progress was recorded. */
type Unfinished = { obj: ImageShare; result: PassResult };
/** A finished cleanup: what it revoked, and the ownership left (what the image's owner keeps, if any). */
type Cleaned = { revoked: readonly string[]; unpublished: boolean; left: Ownership };

/**
 * Revokes everything this object may have shared (managed accounts and grants whose outcome is unknown) and
 * unpublishes if it published, except what the image's owner in this cluster wants or owns (when this object is a
 * duplicate). An image that no longer exists for the identity that granted, and an account that no longer exists,
 * count as cleaned up. When cleanup stops early, what ECS accepted is recorded first, so no batch is sent twice.
 */
async function revokeOwned(obj: ImageShare, pass: Pass): Promise<Unfinished | Cleaned | 'gone' | 'aborted'> {
  const stop = (result: PassResult) => ({ obj, result });
  const cloud = await cloudFor(obj, pass.deps);
  if ('blocked' in cloud) return stop(deletionBlocked(cloud.blocked));
  const { sharing } = cloud;
  const ref = refOf(obj);
  const seen = await observe(sharing, ref, pass.signal);
  if (!seen.ok) {
    if (seen.error.reason !== Reason.ImageNotFound)
      return stop(deletionBlocked({ kind: 'observeFailed', error: seen.error }));
    if (identityChanged(obj, cloud.identity)) return stop(identityBlocked(obj, cloud.identity));
    return {
      revoked: [],
      unpublished: false,
      left: { managedAccounts: [], managedCommunity: false, pendingWrites: [] },
    };
  }
  // Settled with nothing wanted, every write of ours still inside the window (an unknown grant or publish included)
  // counts as shared or public, so it is undone; what a read shows is gone is not revoked again.
  const own = ownershipOf(obj.status);
  const settled = settle(own, seen.image, [], pass.deps.now(), confirmationWindow(pass.deps));
  const kept = ownersShare(obj, pass.deps);
  const plan = planDeletion({
    deletionPolicy: DeletionPolicy.Revoke,
    observedAccounts: settled.effective.sharedAccounts.map((a) => a.id),
    observedCommunity: settled.effective.community,
    managedAccounts: settled.ours.filter((id) => !kept.accounts.has(id)),
    managedCommunity: mayHavePublished(settled.ownership) && !kept.community,
  });
  const outcome = await executePlan(plan, sharing, ref, pass.writes);
  for (const e of writeEvents(outcome)) pass.deps.emit(obj, e);
  const stuck = [...outcome.failedAccounts].filter(([, err]) => err.reason !== Reason.AccountNotFound);
  const left = afterWrites(settled.ownership, plan, outcome, pass.deps.now(), settled.ownership, settled.effective);
  if (!outcome.error && !outcome.aborted && stuck.length === 0) {
    await releaseClaim(obj, sharing, seen.image, pass);
    return { revoked: outcome.revoked, unpublished: outcome.unpublished, left };
  }
  if (pass.signal?.aborted) return 'aborted';
  const progressed = await recordProgress(obj, left, pass);
  if (progressed === 'gone') return 'gone';
  return { obj: progressed, result: cleanupStopped(outcome, stuck) };
}

/** Why cleanup stopped early, with what to do about it. */
function cleanupStopped(outcome: ExecutionOutcome, stuck: Array<[string, CloudError]>): PassResult {
  if (outcome.aborted) {
    return {
      kind: 'blocked',
      reason: Reason.Progressing,
      message:
        'Cleanup stopped before it finished (the spec changed or the pass ran out of time); the next pass continues.',
      transient: true,
    };
  }
  if (outcome.error) return deletionBlocked({ kind: 'observeFailed', error: outcome.error });
  const [id, err] = stuck[0] ?? [];
  return deletionBlocked({
    kind: 'blocked',
    reason: err?.reason ?? Reason.Progressing,
    message: `Could not revoke ${id}: ${err?.message}`,
    transient: false,
  });
}

/**
 * Writes the ownership left after a cleanup that stopped early (accepted revokes gone from managedAccounts, kept as
 * pending revokes), so the next pass sends only what is left. Returns the object as written.
 */
async function recordProgress(obj: ImageShare, own: Ownership, pass: Pass): Promise<ImageShare | 'gone'> {
  const status: ImageShareStatus = {
    ...obj.status,
    managedAccounts: own.managedAccounts,
    managedCommunity: own.managedCommunity,
    pendingWrites: own.pendingWrites,
  };
  if (sameStatus(status, obj.status ?? {})) return obj;
  if ((await pass.deps.store.patchStatus(obj, status)) === 'gone') return 'gone';
  return { ...obj, status };
}

/**
 * What the image's owner in this cluster wants or owns, when that owner is another object: a duplicate's cleanup
 * leaves it alone (the owner may have granted the same account, and a revoke cannot tell whose grant it undoes).
 */
function ownersShare(obj: ImageShare, deps: ReconcileDeps): { accounts: Set<string>; community: boolean } {
  const { owner, isOwner } = resolveClaim(obj, deps.store.claimants(obj.spec.regionId, obj.spec.imageId));
  if (isOwner) return { accounts: new Set(), community: false };
  const own = ownershipOf(owner.status);
  const wanted = withAccountSets(owner, deps).obj.spec;
  return {
    accounts: new Set([
      ...(wanted.accounts ?? []),
      ...(owner.spec.expiringAccounts ?? []).map((e) => e.id),
      ...oursOf(own),
    ]),
    community: owner.spec.community === true || mayHavePublished(own),
  };
}

/** True when the grants on record were made with an identity other than the one cleanup now reads with. */
function identityChanged(obj: ImageShare, identity: string): boolean {
  const recorded = obj.status?.grantIdentity;
  return recorded !== undefined && recorded !== identity;
}

/** ImageNotFound with another identity proves nothing: the image may still exist, shared, for the one that granted. */
function identityBlocked(obj: ImageShare, identity: string): PassResult {
  return {
    kind: 'blocked',
    reason: Reason.ImageNotFound,
    message: `Image ${obj.spec.imageId} is not visible to the current credentials (${identity}), but this object's grants were made with ${obj.status?.grantIdentity}, so they may still be in place. Restore those credentials (spec.credentials or the Secret) so cleanup can finish, or set spec.deletionPolicy to Retain to delete the object and leave the cloud as it is.`,
    transient: false,
  };
}

/**
 * Removes this object's owner tag once its cleanup is done. Best effort: a tag left behind is taken over by the
 * next claimant in this installation, and another installation's Stalled message says how to remove it.
 */
async function releaseClaim(obj: ImageShare, sharing: ImageSharing, image: ObservedImage, pass: Pass): Promise<void> {
  const id = pass.deps.claims;
  if (!id || image.tags[OWNER_TAG] !== ownerTagValue(id, obj)) return;
  await sharing.untagImage(refOf(obj), [OWNER_TAG], pass.writes).catch(() => undefined);
}

const HOW_TO_FINISH =
  'Deletion waits for this; fix it, or set spec.deletionPolicy to Retain to delete the object and leave the cloud as it is.';

/** A failed cleanup, with a message saying how to let the deletion finish. */
function deletionBlocked(p: PassResult): PassResult {
  if (p.kind === 'blocked') return { ...p, message: `${p.message} ${HOW_TO_FINISH}` };
  if (p.kind !== 'observeFailed') return p;
  if (p.error.kind !== 'terminal') return p;
  return { kind: 'blocked', reason: p.error.reason, message: `${p.error.message} ${HOW_TO_FINISH}`, transient: false };
}

/** Deletion has cloud cleanup to do: Revoke in Apply mode (Retain and Plan mode leave the cloud as it is). */
function revokesOnDelete(obj: ImageShare): boolean {
  return (obj.spec.deletionPolicy ?? DeletionPolicy.Retain) === DeletionPolicy.Revoke && modeOf(obj) === Mode.Apply;
}

/** Cleanup on delete is needed while Revoke applies in Apply mode and this object may have exposed something. */
function needsCleanupOnDelete(obj: ImageShare, own: Ownership): boolean {
  return revokesOnDelete(obj) && (oursOf(own).length > 0 || mayHavePublished(own));
}

/** The finalizer goes on before the first cloud write that deletion would have to undo. */
async function ensureFinalizer(obj: ImageShare, deps: ReconcileDeps): Promise<ImageShare> {
  if (obj.metadata.finalizers?.includes(FINALIZER)) return obj;
  return deps.store.addFinalizer(obj);
}

/**
 * The finalizer outside deletion (ADR 0020, "A stable finalizer"): on while Revoke in Apply mode finds something
 * owned, off only when the spec stops asking for cleanup (Retain, Plan mode). Never off because a refused write left
 * nothing owned: the next pass may grant again, and each flip would wake the object.
 */
async function settleFinalizer(obj: ImageShare, own: Ownership, deps: ReconcileDeps): Promise<void> {
  if (obj.metadata.deletionTimestamp) return;
  const has = obj.metadata.finalizers?.includes(FINALIZER) ?? false;
  if (!has && needsCleanupOnDelete(obj, own)) await deps.store.addFinalizer(obj);
  if (has && !revokesOnDelete(obj)) await deps.store.removeFinalizer(obj);
}

/** The cloud port for the object's credentials, and the identity (src/reconcile/identity.ts) it writes with. */
async function cloudFor(
  obj: ImageShare,
  deps: ReconcileDeps,
): Promise<{ sharing: ImageSharing; identity: string } | { blocked: PassResult }> {
  const c = await connect({
    namespace: obj.metadata.namespace,
    credentials: obj.spec.credentials,
    readSecret: (namespace, name) => deps.readSecretCredentials(namespace, name),
    operatorIdentity: deps.operatorIdentity,
  });
  if (!c.ok)
    return { blocked: { kind: 'blocked', reason: Reason.CredentialsNotFound, message: c.message, transient: false } };
  return { sharing: deps.cloud.forCredentials(c.credentials), identity: c.identity };
}

type Observation = { ok: true; image: ObservedImage } | { ok: false; error: CloudError };

async function observe(sharing: ImageSharing, ref: ImageRef, signal: AbortSignal | undefined): Promise<Observation> {
  try {
    return { ok: true, image: await sharing.observe(ref, signal) };
  } catch (err: unknown) {
    return { ok: false, error: classify(err) };
  }
}

function planFor(obj: ImageShare, observed: ObservedImage, ours: readonly string[], deps: ReconcileDeps): SharePlan {
  return planShares({
    ...planInputFor(obj.spec, observed, ours),
    maxCalls: deps.maxWritesPerPass ?? DEFAULTS.maxWritesPerPass,
  });
}

/**
 * Computes the status, writes it once if it changed, emits events, drops the finalizer when deletion has nothing
 * left to clean up, and decides when to come back. Writes nothing once the pass was cancelled.
 */
async function finish(
  obj: ImageShare,
  result: PassResult,
  pass: Pass,
  events: EventSpec[] = [],
): Promise<ReconcileResult> {
  const { deps } = pass;
  if (pass.signal?.aborted) return { ...ABORTED, cloudWrites: writesOf(result) };
  const status = statusFor(obj, result, deps);
  const changed = !sameStatus(status, obj.status ?? {});
  const written = changed ? await writeStatus(obj, status, deps) : obj;
  if (written === 'gone') return NOTHING;
  if (written === 'taken') return OTHER_INSTALLATION;
  for (const e of [...events, ...transitionEvents(obj.status, status)]) deps.emit(obj, e);
  // What was written may hold more than this pass's record: ownership another writer added (writeStatus).
  await settleFinalizer(obj, ownershipOf(written.status), deps);
  const ready = status.conditions?.[0];
  const tagFallback = result.kind === 'applied' && result.note !== undefined;
  return {
    ...requeueFor(obj, result, deps),
    reason: ready?.reason ?? 'Unknown',
    statusWritten: changed,
    cloudWrites: writesOf(result),
    tagFallback,
  };
}

/**
 * A plan stopped because the spec was superseded or the deadline passed is not an error: what was written is
 * recorded and the next pass (already queued for a new spec) carries on. A runtime cancellation stays an error.
 */
function interrupted(out: ExecutionOutcome, pass: Pass): ExecutionOutcome {
  if (!out.aborted || pass.signal?.aborted) return out;
  const { aborted: _stopped, ...rest } = out;
  return rest;
}

function confirmationWindow(deps: ReconcileDeps): number {
  return deps.confirmationWindowMs ?? DEFAULTS.confirmationWindowMs;
}

function modeOf(obj: ImageShare): Mode {
  return obj.spec.mode ?? Mode.Apply;
}

function writesOf(pass: PassResult): number {
  return pass.kind === 'applied' ? pass.outcome.calls : 0;
}

function refOf(obj: ImageShare): ImageRef {
  return { regionId: obj.spec.regionId, imageId: obj.spec.imageId };
}
