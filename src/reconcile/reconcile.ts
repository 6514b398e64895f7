// One reconcile pass for one ImageShare. It reads like the table of contents in STYLE.md: get → deletion →
// finalizer → first sight → suspend → ownership → credentials → observe → plan → act (or plan only) →
// re-observe → one status write, only if changed. Every step is a small function below; cloud and Kubernetes
// access go through the interfaces in deps, so the whole pass runs against fakes in unit tests and against the
// real apiserver and the ECS emulator in integration tests.
import { Reason } from '../api/reasons.ts';
import { DeletionPolicy, FINALIZER, type ImageShare, type ImageShareStatus, Mode, SharePolicy } from '../api/types.ts';
import type { CloudCredentials, CloudError, ImageRef, ImageSharing, ImageSharingFactory, ObservedImage } from '../cloud/port.ts';
import { keyOf, resolveClaim } from './claims.ts';
import { computeStatus, managedAfter, type PassResult, sameStatus } from './compute-status.ts';
import { parseDuration } from './duration.ts';
import { driftEvents, type EventSpec, transitionEvents, writeEvents } from './events.ts';
import { asCloudError, type ExecutionOutcome, executePlan } from './execute-plan.ts';
import { planDeletion, planShares, type SharePlan } from './plan-shares.ts';

export interface ImageShareStore {
  /** A fresh read; null when the object is gone. */
  get(namespace: string, name: string): Promise<ImageShare | null>;
  /** Adds FINALIZER with optimistic concurrency; returns the updated object. */
  addFinalizer(obj: ImageShare): Promise<ImageShare>;
  /** Removes exactly FINALIZER, leaving others untouched. */
  removeFinalizer(obj: ImageShare): Promise<void>;
  /** Writes status through the /status subresource; 'conflict' when the object changed underneath. */
  patchStatus(obj: ImageShare, status: ImageShareStatus): Promise<'ok' | 'conflict'>;
  /** Every ImageShare known (informer cache), for the one-image-one-owner rule. */
  list(): ImageShare[];
}

export type CredentialsLookup = { ok: true; credentials: CloudCredentials } | { ok: false; message: string };

export interface ReconcileDeps {
  store: ImageShareStore;
  /** Reads spec.credentials.secretRef from the object's own namespace. */
  readSecretCredentials(namespace: string, secretName: string): Promise<CredentialsLookup>;
  cloud: ImageSharingFactory;
  emit(obj: ImageShare, event: EventSpec): void;
  now(): Date;
  random(): number;
  defaultResyncMs: number;
}

export type Requeue = { kind: 'none' } | { kind: 'after'; ms: number } | { kind: 'backoff' };

export interface ReconcileResult {
  requeue: Requeue;
  /** For metrics: success | terminal | error | requeue_after. */
  result: 'success' | 'terminal' | 'error' | 'requeue_after';
  /** The Ready reason (or what happened), for the one log line per reconcile. */
  reason: string;
  statusWritten: boolean;
  cloudWrites: number;
}

const NOTHING: ReconcileResult = { requeue: { kind: 'none' }, result: 'success', reason: 'NotFound', statusWritten: false, cloudWrites: 0 };
const PROGRESS_POLL_MS = 2_000;

/** Reconciles namespace/name once. Throws only for Kubernetes API failures (the queue backs off). */
export async function reconcile(namespace: string, name: string, deps: ReconcileDeps): Promise<ReconcileResult> {
  const found = await deps.store.get(namespace, name);
  if (!found) return NOTHING;
  if (found.metadata.deletionTimestamp) return finalize(found, deps);
  const obj = await ensureFinalizer(found, deps);
  if (!obj.status?.conditions?.length) return finish(obj, { kind: 'firstSight' }, deps);
  if (obj.spec.suspend) return finish(obj, { kind: 'suspended' }, deps);
  const claim = resolveClaim(obj, deps.store.list());
  if (!claim.isOwner) return finish(obj, { kind: 'duplicate', ownerKey: keyOf(claim.owner) }, deps);
  const sharing = await cloudFor(obj, deps);
  if ('blocked' in sharing) return finish(obj, sharing.blocked, deps);
  const ref = refOf(obj);
  const before = await observe(sharing, ref);
  if (!before.ok) return finish(obj, { kind: 'observeFailed', error: before.error }, deps);
  const plan = planFor(obj, before.image, obj.status?.managedAccounts ?? []);
  if ((obj.spec.mode ?? Mode.Apply) === Mode.Plan) return finish(obj, { kind: 'planned', observed: before.image, plan }, deps);
  const outcome = await executePlan(plan, sharing, ref);
  const after = await reobserve(sharing, ref, before.image, outcome);
  const next = planFor(obj, after, managedAfter(obj, outcome, after));
  const events = [...driftEvents(obj, before.image, outcome), ...writeEvents(outcome)];
  return finish(obj, { kind: 'applied', plan, outcome, observed: after, next }, deps, events);
}

/** Deletion: apply the deletion policy, then release the finalizer. A duplicate never touches the cloud. */
async function finalize(obj: ImageShare, deps: ReconcileDeps): Promise<ReconcileResult> {
  if (!obj.metadata.finalizers?.includes(FINALIZER)) return NOTHING;
  const policy = obj.spec.deletionPolicy ?? DeletionPolicy.Retain;
  const cleanup = policy === DeletionPolicy.Revoke && (obj.spec.mode ?? Mode.Apply) === Mode.Apply && resolveClaim(obj, deps.store.list()).isOwner;
  if (cleanup) {
    const failed = await revokeManaged(obj, deps);
    if (failed) return finish(obj, failed, deps);
  }
  await deps.store.removeFinalizer(obj);
  return { ...NOTHING, reason: cleanup ? 'Revoked' : 'Retained' };
}

/** Revokes what the object manages; returns the pass to report when that could not finish. */
async function revokeManaged(obj: ImageShare, deps: ReconcileDeps): Promise<PassResult | undefined> {
  const sharing = await cloudFor(obj, deps);
  if ('blocked' in sharing) return sharing.blocked;
  const ref = refOf(obj);
  const seen = await observe(sharing, ref);
  if (!seen.ok) return seen.error.reason === Reason.ImageNotFound ? undefined : { kind: 'observeFailed', error: seen.error };
  const plan = planDeletion({
    deletionPolicy: DeletionPolicy.Revoke,
    observedAccounts: seen.image.sharedAccounts.map((a) => a.id),
    observedCommunity: seen.image.community,
    managedAccounts: obj.status?.managedAccounts ?? [],
    managedCommunity: obj.status?.managedCommunity ?? false,
  });
  const outcome = await executePlan(plan, sharing, ref);
  for (const e of writeEvents(outcome)) deps.emit(obj, e);
  if (outcome.error) return { kind: 'observeFailed', error: outcome.error };
  const [id, err] = [...outcome.failedAccounts][0] ?? [];
  if (id && err) return { kind: 'blocked', reason: err.reason, message: `Could not revoke ${id} while deleting: ${err.message}`, transient: false };
  return undefined;
}

/** The finalizer goes on before the first cloud write, with optimistic concurrency. */
async function ensureFinalizer(obj: ImageShare, deps: ReconcileDeps): Promise<ImageShare> {
  if (obj.metadata.finalizers?.includes(FINALIZER)) return obj;
  return deps.store.addFinalizer(obj);
}

async function cloudFor(obj: ImageShare, deps: ReconcileDeps): Promise<ImageSharing | { blocked: PassResult }> {
  const creds = obj.spec.credentials;
  if (creds?.roleArn) return deps.cloud.forCredentials({ type: 'roleArn', roleArn: creds.roleArn });
  if (!creds?.secretRef) return deps.cloud.forCredentials({ type: 'default' });
  const found = await deps.readSecretCredentials(obj.metadata.namespace, creds.secretRef.name);
  if (!found.ok) return { blocked: { kind: 'blocked', reason: Reason.CredentialsNotFound, message: found.message, transient: false } };
  return deps.cloud.forCredentials(found.credentials);
}

type Observation = { ok: true; image: ObservedImage } | { ok: false; error: CloudError };

async function observe(sharing: ImageSharing, ref: ImageRef): Promise<Observation> {
  try {
    return { ok: true, image: await sharing.observe(ref) };
  } catch (err: unknown) {
    return { ok: false, error: asCloudError(err) };
  }
}

/**
 * Observes again after writing: the status reports what ECS says, not what we hoped. If that read fails, the
 * status is projected from the write results (so grants are still recorded as managed) and the error is kept.
 */
async function reobserve(sharing: ImageSharing, ref: ImageRef, before: ObservedImage, outcome: ExecutionOutcome): Promise<ObservedImage> {
  if (outcome.calls === 0) return before;
  const seen = await observe(sharing, ref);
  if (seen.ok) return seen.image;
  outcome.error ??= seen.error;
  const ids = new Set(before.sharedAccounts.map((a) => a.id));
  for (const id of outcome.revoked) ids.delete(id);
  for (const id of outcome.granted) ids.add(id);
  const community = outcome.published || (before.community && !outcome.unpublished);
  return { ...before, community, sharedAccounts: [...ids].sort().map((id) => ({ id })) };
}

function planFor(obj: ImageShare, observed: ObservedImage, managed: readonly string[]): SharePlan {
  return planShares({
    desiredAccounts: obj.spec.accounts ?? [],
    desiredCommunity: obj.spec.community,
    sharePolicy: obj.spec.sharePolicy ?? SharePolicy.Authoritative,
    observedAccounts: observed.sharedAccounts.map((a) => a.id),
    observedCommunity: observed.community,
    observedEncrypted: observed.encrypted,
    managedAccounts: managed,
  });
}

/** Computes the status, writes it once if it changed, emits events, and decides when to come back. */
async function finish(obj: ImageShare, pass: PassResult, deps: ReconcileDeps, events: EventSpec[] = []): Promise<ReconcileResult> {
  const status = computeStatus(obj, pass, deps.now());
  const changed = !sameStatus(status, obj.status ?? {});
  if (changed && (await deps.store.patchStatus(obj, status)) === 'conflict') {
    return { requeue: { kind: 'backoff' }, result: 'error', reason: 'Conflict', statusWritten: false, cloudWrites: writesOf(pass) };
  }
  for (const e of [...events, ...transitionEvents(obj.status, status)]) deps.emit(obj, e);
  const ready = status.conditions?.[0];
  return { ...requeueFor(obj, pass, status, deps), reason: ready?.reason ?? 'Unknown', statusWritten: changed, cloudWrites: writesOf(pass) };
}

function requeueFor(obj: ImageShare, pass: PassResult, status: ImageShareStatus, deps: ReconcileDeps): Pick<ReconcileResult, 'requeue' | 'result'> {
  const resync = { kind: 'after', ms: jittered(resyncMs(obj, deps), deps.random) } as const;
  if (pass.kind === 'firstSight') return { requeue: { kind: 'after', ms: 0 }, result: 'requeue_after' };
  if (pass.kind === 'suspended') return { requeue: { kind: 'none' }, result: 'success' };
  const error = pass.kind === 'observeFailed' ? pass.error : pass.kind === 'applied' ? pass.outcome.error : undefined;
  if (error && error.kind !== 'terminal') {
    if (error.retryAfterMs !== undefined) return { requeue: { kind: 'after', ms: error.retryAfterMs }, result: 'requeue_after' };
    return { requeue: { kind: 'backoff' }, result: 'error' };
  }
  const abnormal = status.conditions?.[1];
  if (abnormal?.type === 'Stalled') return { requeue: resync, result: 'terminal' };
  if (abnormal?.type === 'Reconciling') return { requeue: { kind: 'after', ms: PROGRESS_POLL_MS }, result: 'requeue_after' };
  return { requeue: resync, result: 'success' };
}

function resyncMs(obj: ImageShare, deps: ReconcileDeps): number {
  if (!obj.spec.resyncInterval) return deps.defaultResyncMs;
  try {
    return parseDuration(obj.spec.resyncInterval);
  } catch {
    return deps.defaultResyncMs;
  }
}

/** Up to +10% so objects created together do not resync together. */
function jittered(ms: number, random: () => number): number {
  return Math.round(ms * (1 + 0.1 * random()));
}

function writesOf(pass: PassResult): number {
  return pass.kind === 'applied' ? pass.outcome.calls : 0;
}

function refOf(obj: ImageShare): ImageRef {
  return { regionId: obj.spec.regionId, imageId: obj.spec.imageId };
}

