// The tenancy check as a reconcile pass asks it (ReconcileDeps.policy): the decision, plus what a denial means for
// what the object already did. A denial stops new writes and, unless a policy enforces, revokes nothing (docs/adr/0030),
// so the message and one log line per new denial say which grants stay or go, and what an admin sets to undo it.
import type { ImageShare, ImageShareSpec } from '../api/types.ts';
import type { Log } from '../runtime/logger.ts';
import { BASELINE, type Decision, PolicyRule } from './evaluate.ts';

export interface PolicySource {
  decide(namespace: string, spec: ImageShareSpec): Promise<Decision>;
}

/** What the object exposes through its own earlier writes, from its status. */
function exposure(obj: ImageShare): { accounts: number; community: boolean } {
  return { accounts: obj.status?.managedAccounts?.length ?? 0, community: obj.status?.managedCommunity === true };
}

/** True when the object was in sync or had written something before: it worked, and a new rule stopped it. */
export function workedBefore(obj: ImageShare): boolean {
  const { accounts, community } = exposure(obj);
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  return accounts > 0 || community || (ready?.status === 'True' && ready.reason === 'Synced');
}

/** The denial's message with what stays in place; allowed decisions pass unchanged. Pure. */
export function reportExisting(decision: Decision, obj: ImageShare): Decision {
  if (decision.allowed) return decision;
  const { accounts, community } = exposure(obj);
  if (decision.enforce) {
    const by = `ImageSharePolicy ${decision.enforcedBy} enforces (enforcement: Revoke)`;
    const left = accounts === 0 && !community ? 'none are left' : 'they are revoked now';
    return {
      ...decision,
      message: `${decision.message}. Nothing new is written, and ${by}: the grants this object made are revoked (${left}).`,
    };
  }
  if (accounts === 0 && !community) return { ...decision, message: `${decision.message}. Nothing was written.` };
  const kept = [
    accounts > 0 ? `the ${accounts} account(s) this object shared with (status.managedAccounts)` : '',
    community ? 'its community publication' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  return {
    ...decision,
    message: `${decision.message}. Nothing new is written; ${kept} stay as they are: a policy denial revokes nothing (delete the object with deletionPolicy Revoke, or edit the spec, to remove them).`,
  };
}

/** What an admin sets so an object denied by the baseline works again. */
function remedy(decision: Decision & { allowed: false }): string | undefined {
  if (decision.policy === BASELINE && decision.rule === PolicyRule.TrustedNamespaces)
    return 'add the namespace to tenancy.trustedNamespaces (--trusted-namespaces), or set tenancy.mode=open (--tenancy-mode=open)';
  if (decision.rule === PolicyRule.Mode) return 'install the ImageSharePolicy CRD, or set tenancy.mode=open';
  return undefined;
}

/**
 * ReconcileDeps.policy over a PolicySource: each denial is reported in the status message, and logged once per object
 * and message (a Warning event follows from the condition change); a namespace no longer denied is forgotten.
 */
export function reconcileCheck(source: PolicySource, log: Pick<Log, 'warn'>): (obj: ImageShare) => Promise<Decision> {
  const logged = new Map<string, string>();
  return async (obj) => {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const decision = reportExisting(await source.decide(obj.metadata.namespace, obj.spec), obj);
    if (decision.allowed) {
      logged.delete(key);
      return decision;
    }
    if (logged.get(key) === decision.message) return decision;
    logged.set(key, decision.message);
    const fix = remedy(decision);
    const before = workedBefore(obj);
    log.warn(
      { key, policy: decision.policy, rule: decision.rule, workedBefore: before, ...(fix ? { set: fix } : {}) },
      before
        ? `ImageShare ${key} worked before and is now denied by ${decision.policy} (rule ${decision.rule}); nothing new is written and ${decision.enforce ? `its own grants are revoked (${decision.enforcedBy} enforces)` : 'nothing is revoked'}${fix ? `; to let it work again, ${fix}` : ''}`
        : `ImageShare ${key} is denied by ${decision.policy} (rule ${decision.rule}); nothing is written`,
    );
    return decision;
  };
}
