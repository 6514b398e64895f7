// Runs a plan's operations in order against the cloud port. It stops at the first error that is not
// account-specific: later operations are never more exposing than earlier ones' failure allows, and the
// reconciler re-observes the cloud before trusting anything.
import { CloudError, type ImageRef, type ImageSharing } from '../cloud/port.ts';
import type { SharePlan } from './plan-shares.ts';

export interface ExecutionOutcome {
  granted: string[];
  revoked: string[];
  published: boolean;
  unpublished: boolean;
  /** Accounts that failed for account-specific reasons (the rest of their batch went on). */
  failedAccounts: Map<string, CloudError>;
  /** The error that stopped the plan, if any. */
  error?: CloudError;
  calls: number;
}

/** Executes `plan` in order. Never throws for cloud errors: they come back in the outcome. */
export async function executePlan(plan: SharePlan, cloud: ImageSharing, ref: ImageRef): Promise<ExecutionOutcome> {
  const out: ExecutionOutcome = { granted: [], revoked: [], published: false, unpublished: false, failedAccounts: new Map(), calls: 0 };
  for (const op of plan.operations) {
    try {
      out.calls++;
      if (op.kind === 'unpublish' || op.kind === 'publish') {
        await cloud.setCommunity(ref, op.kind === 'publish');
        if (op.kind === 'publish') out.published = true;
        else out.unpublished = true;
        continue;
      }
      const results = op.kind === 'grant' ? await cloud.grant(ref, op.accounts) : await cloud.revoke(ref, op.accounts);
      for (const r of results) {
        if (r.ok) (op.kind === 'grant' ? out.granted : out.revoked).push(r.id);
        else out.failedAccounts.set(r.id, r.error);
      }
    } catch (err: unknown) {
      out.error = asCloudError(err);
      break;
    }
  }
  return out;
}

/** Anything that escapes the port is a bug or a transport surprise; treat it as transient, keeping the cause. */
export function asCloudError(err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  return new CloudError(
    { code: 'Unexpected', kind: 'transient', reason: 'CloudAPIError', message: 'An unexpected error occurred while calling ECS; it will be retried.', accountSpecific: false },
    { cause: err },
  );
}
