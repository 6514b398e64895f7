// Runs a plan's operations in order against the cloud port. It stops at the first error that is not
// account-specific: later operations are never more exposing than earlier ones' failure allows. Everything ECS
// accepted before that error is kept in the outcome, and writes whose answer was lost are reported as unknown, so
// the caller can record ownership exactly (src/reconcile/ownership.ts).
import {
  type CloudError,
  type ImageRef,
  type ImageSharing,
  type ModifyResult,
  isAbortError,
  lostAnswerOf,
  outcomeUnknown,
} from '../cloud/port.ts';
import { classify } from '../cloud/ecs-errors.ts';
import type { SharePlan, ShareOperation } from './plan-shares.ts';

export interface ExecutionOutcome {
  granted: string[];
  revoked: string[];
  published: boolean;
  unpublished: boolean;
  /** Accounts ECS refused for account-specific reasons (the rest of their batch went on). */
  failedAccounts: Map<string, CloudError>;
  /** Writes that were sent but whose answer was lost (ECS may or may not have applied them). */
  unknown: { grant: string[]; revoke: string[]; community?: boolean };
  /** The error that stopped the plan, if any. */
  error?: CloudError;
  /** The plan stopped because its signal fired (cancellation, a newer spec, the pass deadline). */
  aborted?: boolean;
  /** Operations started (each is one ECS call unless culprit isolation needed more). */
  calls: number;
}

function emptyOutcome(): ExecutionOutcome {
  return {
    granted: [],
    revoked: [],
    published: false,
    unpublished: false,
    failedAccounts: new Map(),
    unknown: { grant: [], revoke: [] },
    calls: 0,
  };
}

/** Executes `plan` in order. Never throws for cloud errors or cancellation: they come back in the outcome. */
export async function executePlan(
  plan: SharePlan,
  cloud: ImageSharing,
  ref: ImageRef,
  signal?: AbortSignal,
): Promise<ExecutionOutcome> {
  const out = emptyOutcome();
  for (const op of plan.operations) {
    if (signal?.aborted) {
      out.aborted = true;
      break;
    }
    out.calls++;
    const run: Run = { cloud, ref, out, signal };
    const error =
      op.kind === 'publish' || op.kind === 'unpublish' ? await setCommunity(op, run) : await modify(op, run);
    if (error === 'aborted') out.aborted = true;
    else if (error) out.error = error;
    if (error) break;
  }
  return out;
}

/** What every operation of one plan runs against, and the outcome it adds to. */
interface Run {
  cloud: ImageSharing;
  ref: ImageRef;
  out: ExecutionOutcome;
  signal: AbortSignal | undefined;
}

async function setCommunity(
  op: ShareOperation,
  { cloud, ref, out, signal }: Run,
): Promise<CloudError | 'aborted' | undefined> {
  const publish = op.kind === 'publish';
  try {
    await cloud.setCommunity(ref, publish, signal);
    if (publish) out.published = true;
    else out.unpublished = true;
    return undefined;
  } catch (err: unknown) {
    if (isAbortError(err)) {
      if (lostAnswerOf(err)) out.unknown.community = publish;
      return 'aborted';
    }
    const error = classify(err);
    if (outcomeUnknown(error)) out.unknown.community = publish;
    return error;
  }
}

async function modify(
  op: ShareOperation,
  { cloud, ref, out, signal }: Run,
): Promise<CloudError | 'aborted' | undefined> {
  if (op.kind !== 'grant' && op.kind !== 'revoke') return undefined;
  let result: ModifyResult;
  try {
    result =
      op.kind === 'grant' ? await cloud.grant(ref, op.accounts, signal) : await cloud.revoke(ref, op.accounts, signal);
  } catch (err: unknown) {
    // The port never throws for cloud errors; whatever escaped may have happened after the request left.
    out.unknown[op.kind].push(...op.accounts);
    return isAbortError(err) ? 'aborted' : classify(err);
  }
  for (const r of result.results) {
    if (r.ok === true) (op.kind === 'grant' ? out.granted : out.revoked).push(r.id);
    else if (r.ok === 'unknown') out.unknown[op.kind].push(r.id);
    else if (r.error.accountSpecific) out.failedAccounts.set(r.id, r.error);
  }
  return result.aborted ? 'aborted' : result.error;
}
