// The accounts a set's children get (docs/adr/0028), and an ImageShare's own (docs/adr/0033): the inline accounts plus
// every referenced AccountSet and ClusterAccountSet, resolved before any write. Pure: the lookup is the caller's.
import { MAX_ACCOUNTS_PER_IMAGE } from '../cloud/port.ts';
import type { AccountSet, AccountSetRef, ImageShareSetSpec } from './types.ts';

export const AccountsReason = {
  AccountSetNotFound: 'AccountSetNotFound',
  TooManyAccounts: 'TooManyAccounts',
  AccountListedTwice: 'AccountListedTwice',
} as const;

export type ResolvedAccounts =
  | { ok: true; accounts: string[] | undefined }
  | { ok: false; reason: (typeof AccountsReason)[keyof typeof AccountsReason]; message: string };

/** What waits while a reference does not resolve: the subject of the messages. */
export const HELD = {
  set: 'no child is changed',
  imageShare: 'nothing is shared or revoked',
} as const;

const describeRef = (r: AccountSetRef) => `${r.kind} ${r.name}`;

/**
 * The union, sorted; undefined when the spec names no accounts at all (so a child without accounts stays without).
 * Fails, naming the reference, when one does not resolve; fails with the count and the sets that make it up when the
 * union is over the 50-account quota. Never throws.
 */
export function resolveAccounts(
  spec: Pick<ImageShareSetSpec, 'accounts' | 'accountSetRefs' | 'expiringAccounts'>,
  lookup: (ref: AccountSetRef) => AccountSet | undefined,
  held: string = HELD.set,
): ResolvedAccounts {
  const refs = spec.accountSetRefs ?? [];
  if (refs.length === 0) return { ok: true, accounts: spec.accounts };
  const expiring = new Set((spec.expiringAccounts ?? []).map((e) => e.id));
  const union = new Set(spec.accounts ?? []);
  for (const ref of refs) {
    const found = lookup(ref);
    if (found === undefined)
      return {
        ok: false,
        reason: AccountsReason.AccountSetNotFound,
        message: `${describeRef(ref)} referenced by spec.accountSetRefs does not exist${ref.kind === 'AccountSet' ? ' in this namespace' : ''}; ${held} until it does or the reference is removed.`,
      };
    for (const a of found.spec?.accounts ?? []) union.add(a.id);
  }
  const problem = checkUnion(spec, union, expiring, held);
  if (problem !== undefined) return problem;
  return { ok: true, accounts: [...union].sort() };
}

/** An account both unending and expiring, or a total over the quota; undefined when the union is fine. */
function checkUnion(
  spec: Pick<ImageShareSetSpec, 'accounts' | 'accountSetRefs'>,
  union: ReadonlySet<string>,
  expiring: ReadonlySet<string>,
  held: string,
): Extract<ResolvedAccounts, { ok: false }> | undefined {
  const both = [...union].filter((id) => expiring.has(id)).sort();
  if (both.length > 0)
    return {
      ok: false,
      reason: AccountsReason.AccountListedTwice,
      message: `Account ${both.join(', ')} is in a referenced account set (shared with no end) and in expiringAccounts; list it in one of them.`,
    };
  const total = union.size + expiring.size;
  if (total <= MAX_ACCOUNTS_PER_IMAGE) return undefined;
  const parts = [
    ...(spec.accounts?.length ? ['spec.accounts'] : []),
    ...(expiring.size > 0 ? ['spec.expiringAccounts'] : []),
    ...(spec.accountSetRefs ?? []).map(describeRef),
  ].join(', ');
  return {
    ok: false,
    reason: AccountsReason.TooManyAccounts,
    message: `The accounts of ${parts} add up to ${total} distinct accounts, more than the ECS limit of ${MAX_ACCOUNTS_PER_IMAGE} per image; ${held} until the lists are shorter.`,
  };
}

/** True when the set references the AccountSet `namespace/name` or the ClusterAccountSet `name` (namespace ''). */
export function references(
  set: { metadata: { namespace: string }; spec: Pick<ImageShareSetSpec, 'accountSetRefs'> },
  kind: AccountSetRef['kind'],
  namespace: string,
  name: string,
): boolean {
  return (set.spec.accountSetRefs ?? []).some(
    (r) => r.kind === kind && r.name === name && (kind === 'ClusterAccountSet' || set.metadata.namespace === namespace),
  );
}
