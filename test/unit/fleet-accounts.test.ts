// Resolving a set's accounts (docs/adr/0028): inline accounts plus AccountSets and ClusterAccountSets, checked before
// any write. Each row says why.
import { describe, expect, it } from '@jest/globals';
import { references, resolveAccounts } from '../../src/fleet/accounts.ts';
import type { AccountSet, AccountSetRef } from '../../src/fleet/types.ts';

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => String(2000000000000000 + from + i));
const list = (name: string, accounts: string[], namespace?: string): AccountSet => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: namespace === undefined ? 'ClusterAccountSet' : 'AccountSet',
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  spec: { accounts: accounts.map((id) => ({ id })) },
});
const LISTS: Record<string, AccountSet> = {
  'AccountSet/prod': list('prod', ids(1, 3), 'team'),
  'ClusterAccountSet/vendors': list('vendors', ids(3, 3)),
  'ClusterAccountSet/big': list('big', ids(100, 45)),
};
const lookup = (r: AccountSetRef) => LISTS[`${r.kind}/${r.name}`];

const rows: Array<{
  why: string;
  accounts?: string[];
  expiring?: string[];
  refs?: AccountSetRef[];
  want: string[] | undefined | string;
}> = [
  { why: 'without references the inline list is used as written', accounts: [ids(9, 1)[0] ?? ''], want: ids(9, 1) },
  { why: 'no accounts and no references stays "no accounts", so children are not drifted to []', want: undefined },
  {
    why: 'the union of inline and referenced accounts, each once, sorted',
    accounts: ids(5, 1),
    refs: [
      { kind: 'AccountSet', name: 'prod' },
      { kind: 'ClusterAccountSet', name: 'vendors' },
    ],
    want: ids(1, 5),
  },
  {
    why: 'a reference that does not resolve stops the set: children written without it could revoke its accounts',
    refs: [{ kind: 'AccountSet', name: 'missing' }],
    want: 'AccountSetNotFound',
  },
  {
    why: 'over 50 distinct accounts stops the set before any ECS call, naming the lists that make it up',
    accounts: ids(1, 6),
    refs: [{ kind: 'ClusterAccountSet', name: 'big' }],
    want: 'TooManyAccounts',
  },
  {
    why: 'an account both in a referenced list (no end) and in expiringAccounts is ambiguous: the child would refuse it',
    expiring: ids(1, 1),
    refs: [{ kind: 'AccountSet', name: 'prod' }],
    want: 'AccountListedTwice',
  },
  {
    why: 'expiring accounts count toward the 50 per image with the union',
    expiring: ids(900, 6),
    refs: [{ kind: 'ClusterAccountSet', name: 'big' }],
    want: 'TooManyAccounts',
  },
];

describe('resolveAccounts', () => {
  it.each(rows)('$why', (row) => {
    const r = resolveAccounts(
      {
        ...(row.accounts ? { accounts: row.accounts } : {}),
        ...(row.refs ? { accountSetRefs: row.refs } : {}),
        ...(row.expiring
          ? { expiringAccounts: row.expiring.map((id) => ({ id, expiresAt: '2099-01-01T00:00:00Z' })) }
          : {}),
      },
      lookup,
    );
    if (typeof row.want === 'string') expect(r).toMatchObject({ ok: false, reason: row.want });
    else expect(r).toEqual({ ok: true, accounts: row.want });
  });

  it('the over-quota message gives the count and the names', () => {
    const r = resolveAccounts(
      { accounts: ids(1, 6), accountSetRefs: [{ kind: 'ClusterAccountSet', name: 'big' }] },
      lookup,
    );
    expect(r.ok === false && r.message).toContain(
      'spec.accounts, ClusterAccountSet big add up to 51 distinct accounts',
    );
  });
});

describe('references', () => {
  const set = {
    metadata: { namespace: 'team' },
    spec: {
      accountSetRefs: [
        { kind: 'AccountSet', name: 'prod' },
        { kind: 'ClusterAccountSet', name: 'vendors' },
      ] as AccountSetRef[],
    },
  };
  it.each([
    ['an AccountSet of its own namespace', 'AccountSet', 'team', 'prod', true],
    [
      'an AccountSet of the same name in another namespace is not the one it reads',
      'AccountSet',
      'other',
      'prod',
      false,
    ],
    ['a ClusterAccountSet, whatever the namespace', 'ClusterAccountSet', '', 'vendors', true],
    ['another kind with the same name is not referenced', 'ClusterAccountSet', '', 'prod', false],
  ] as const)('%s', (_why, kind, ns, name, want) => {
    expect(references(set, kind, ns, name)).toBe(want);
  });
});
