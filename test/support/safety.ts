// The API.md safety invariant and the kstatus condition rules, as assertions shared by unit, integration and
// property tests. They throw plain Errors (not Jest expectations) so they can run anywhere.
import type { Condition, ImageShareStatus } from '../../src/api/types.ts';
import type { PlanInput, SharePlan } from '../../src/reconcile/plan-shares.ts';

function fail(msg: string): never {
  throw new Error(`safety invariant violated: ${msg}`);
}

/** Checks one plan: grants ⊆ spec, publish only if asked, Additive revokes ⊆ managed, order, limits, quota. */
export function assertPlanIsSafe(input: PlanInput, plan: SharePlan): void {
  const desired = new Set(input.desiredAccounts);
  const rank = { unpublish: 0, revoke: 1, grant: 2, publish: 3 } as const;
  let last = -1;
  for (const op of plan.operations) {
    if (rank[op.kind] < last) fail(`operation ${op.kind} runs after a less exposing one`);
    last = rank[op.kind];
    if (op.kind === 'grant')
      for (const id of op.accounts) if (!desired.has(id)) fail(`grant of ${id}, not in spec.accounts`);
    if (op.kind === 'publish' && input.desiredCommunity !== true) fail('publish without community: true');
    if (op.kind === 'revoke' && input.sharePolicy === 'Additive') {
      for (const id of op.accounts) if (!input.managedAccounts.includes(id)) fail(`Additive revoke of unmanaged ${id}`);
    }
    if ('accounts' in op && op.accounts.length > 10) fail(`${op.accounts.length} accounts in one call`);
  }
  const after = new Set(input.observedAccounts);
  for (const id of plan.revoke) after.delete(id);
  for (const id of plan.grant) after.add(id);
  if (plan.grant.length && after.size > (input.maxAccountsPerImage ?? 50))
    fail(`plan ends with ${after.size} accounts`);
}

/**
 * The cloud never exceeds the spec: every shared account is wanted, was there before the operator (Additive:
 * not ours to touch; Authoritative: it would be revoked, so only allowed as lag when `allowedExtra` has it), and the
 * image is community only if asked or it already was.
 */
export function assertCloudWithinSpec(
  cloud: { accounts: readonly string[]; community: boolean },
  allowed: { accounts: readonly string[]; community: boolean },
): void {
  const ok = new Set(allowed.accounts);
  for (const id of cloud.accounts) if (!ok.has(id)) fail(`image shared with ${id}, which nobody asked for`);
  if (cloud.community && !allowed.community) fail('image is community but nobody asked for that');
}

/** kstatus: Ready always; Reconciling/Stalled only when True and never both; observedGeneration everywhere. */
export function assertKstatusShape(status: ImageShareStatus | undefined, generation: number): void {
  const conds: Condition[] = status?.conditions ?? [];
  const ready = conds.filter((c) => c.type === 'Ready');
  if (ready.length !== 1) fail(`expected exactly one Ready condition, got ${ready.length}`);
  for (const c of conds) {
    if ((c.type === 'Reconciling' || c.type === 'Stalled') && c.status !== 'True')
      fail(`${c.type} present but ${c.status}`);
    if (c.observedGeneration !== generation)
      fail(`${c.type}.observedGeneration ${c.observedGeneration} != ${generation}`);
    if (!/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(c.reason)) fail(`reason ${c.reason} is not CamelCase`);
    if (Number.isNaN(Date.parse(c.lastTransitionTime))) fail(`bad lastTransitionTime ${c.lastTransitionTime}`);
  }
  if (conds.some((c) => c.type === 'Reconciling') && conds.some((c) => c.type === 'Stalled'))
    fail('Reconciling and Stalled together');
  if (status?.observedGeneration !== generation)
    fail(`status.observedGeneration ${status?.observedGeneration} != ${generation}`);
}
