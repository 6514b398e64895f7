// One reconcile pass's result and what follows from it: the facts the pass found (PassResult, which status renders)
// and the decision when the key comes back (requeueFor), made from those facts, never from rendered conditions.
import type { ImageShare } from '../api/types.ts';
import type { CloudError, ObservedImage } from '../cloud/port.ts';
import { summarize } from './compute-status.ts';
import { parseDuration } from './duration.ts';
import type { ExecutionOutcome } from './execute-plan.ts';
import { nextExpiryMs } from './expiry.ts';
import { type Ownership, pollDelayMs, type Settled } from './ownership.ts';
import type { SharePlan } from './plan-shares.ts';

/** What one reconcile pass found; each variant carries exactly what its status needs. */
export type PassResult =
  | { kind: 'suspended' }
  /** Another ImageShare owns the image: an older one in this cluster, or (`elsewhere`) the one its owner tag names. */
  | { kind: 'duplicate'; ownerKey: string; elsewhere?: boolean }
  | { kind: 'blocked'; reason: string; message: string; transient: boolean }
  | { kind: 'observeFailed'; error: CloudError }
  | { kind: 'planned'; settled: Settled; plan: SharePlan }
  /** The intent record written before the first exposing write: grants and publish about to be sent. */
  | { kind: 'applying'; settled: Settled; plan: SharePlan; ownership: Ownership }
  /** `observed` is the read with this pass's accepted writes applied; `next` is what would still be left to do. */
  | {
      kind: 'applied';
      outcome: ExecutionOutcome;
      observed: ObservedImage;
      next: SharePlan;
      ownership: Ownership;
      unknownAgeMs: number | undefined;
      /** When the earliest revoke believed over reads leaves its window (the pass comes back then). */
      recheckInMs?: number | undefined;
      /** What a read shows exposed that a revoke of ours inside its window is believed to have undone. */
      contested?: Settled['contested'];
      /** Appended to the Ready message (the owner tag could not be written). */
      note?: string;
    };

export type Requeue = { kind: 'none' } | { kind: 'after'; ms: number } | { kind: 'backoff' };

export interface ReconcileResult {
  requeue: Requeue;
  /** For metrics: success | terminal | error | requeue_after | aborted. */
  result: 'success' | 'terminal' | 'error' | 'requeue_after' | 'aborted';
  /** The Ready reason (or what happened), for the one log line per reconcile. */
  reason: string;
  statusWritten: boolean;
  cloudWrites: number;
  /** The owner tag could not be written, so ownership was checked in this cluster only (for the metric). */
  tagFallback?: boolean;
}

/** What the requeue decision needs of the reconcile deps. */
export interface RequeueDeps {
  defaultResyncMs: number;
  random(): number;
  now(): Date;
}

/** An expiring share is looked at again this long after its expiresAt (so the pass sees it past). */
const EXPIRY_MARGIN_MS = 1_000;

/** A pass that stopped at its write budget comes back this soon, behind whatever else is queued. */
const CONTINUE_MS = 1_000;
/** A re-check due now still waits this long, so an expiring window never makes a tight loop. */
const RECHECK_MIN_MS = 1_000;

/** When the key comes back, decided from the pass itself (its error, what is left to do, its summary). */
export function requeueFor(
  obj: ImageShare,
  pass: PassResult,
  deps: RequeueDeps,
): Pick<ReconcileResult, 'requeue' | 'result'> {
  const expiry = nextExpiryMs(obj.spec, deps.now());
  const periodic = jittered(resyncMs(obj, deps), deps.random);
  const resync = {
    kind: 'after',
    ms: expiry === undefined ? periodic : Math.min(periodic, expiry + EXPIRY_MARGIN_MS),
  } as const;
  if (pass.kind === 'suspended') return { requeue: { kind: 'none' }, result: 'success' };
  const error = pass.kind === 'observeFailed' ? pass.error : pass.kind === 'applied' ? pass.outcome.error : undefined;
  if (error && error.kind !== 'terminal') {
    if (error.retryAfterMs !== undefined)
      return { requeue: { kind: 'after', ms: error.retryAfterMs }, result: 'requeue_after' };
    return { requeue: { kind: 'backoff' }, result: 'error' };
  }
  const { abnormal } = summarize(obj, pass);
  if (abnormal === 'Stalled') return { requeue: resync, result: 'terminal' };
  if (pass.kind === 'applied' && pass.next.operations.length > 0)
    return { requeue: { kind: 'after', ms: CONTINUE_MS }, result: 'requeue_after' };
  const followUp = pass.kind === 'applied' ? followUpMs(pass, resync.ms) : undefined;
  if (followUp !== undefined) return { requeue: { kind: 'after', ms: followUp }, result: 'requeue_after' };
  if (abnormal === 'Reconciling') return { requeue: { kind: 'backoff' }, result: 'requeue_after' };
  return { requeue: resync, result: 'success' };
}

/**
 * When an applied pass must look again before its resync: a write whose outcome is unknown is polled, and a revoke
 * believed over reads is checked again when its window ends. Undefined when neither is pending.
 */
function followUpMs(pass: Extract<PassResult, { kind: 'applied' }>, resyncMs: number): number | undefined {
  const poll = pass.unknownAgeMs === undefined ? undefined : pollDelayMs(pass.unknownAgeMs);
  const due = [poll, pass.recheckInMs].filter((ms): ms is number => ms !== undefined);
  if (due.length === 0) return undefined;
  return Math.max(Math.min(...due, resyncMs), RECHECK_MIN_MS);
}

function resyncMs(obj: ImageShare, deps: RequeueDeps): number {
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
