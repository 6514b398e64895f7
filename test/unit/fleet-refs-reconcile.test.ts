// Behaviour table for ImageShare.spec.accountSetRefs in one reconcile pass (docs/adr/0033): the pass plans with the
// union of inline accounts and the referenced sets (resolved by the real resolveAccounts over an in-memory lookup),
// and a reference that does not resolve, or a union over 50, stops it before any cloud call. Each row says why.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { HELD, resolveAccounts } from '../../src/fleet/accounts.ts';
import { type ChildView, childLabels, driftPatch, type SetView } from '../../src/fleet/plan.ts';
import type { AccountSet, AccountSetRef } from '../../src/fleet/types.ts';
import { PolicyRule } from '../../src/policy/evaluate.ts';
import { type ReconcileDeps, reconcile } from '../../src/reconcile/reconcile.ts';
import { REF, type ReconcileWorld, reconcileWorld } from '../support/reconcile-world.ts';

const id = (i: number) => String(2000000000000000 + i);
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => id(from + i));
const set = (accounts: string[]): AccountSet => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'AccountSet',
  metadata: { name: 'x' },
  spec: { accounts: accounts.map((a) => ({ id: a })) },
});

/** The sets the cache holds, by `Kind/namespace/name` (a ClusterAccountSet has namespace ''). */
let sets: Map<string, AccountSet>;
let world: ReconcileWorld;
const withHook = (): Partial<ReconcileDeps> => ({
  accountSets: (obj) =>
    resolveAccounts(
      obj.spec,
      (r: AccountSetRef) => sets.get(`${r.kind}/${r.kind === 'AccountSet' ? obj.metadata.namespace : ''}/${r.name}`),
      HELD.imageShare,
    ),
});
beforeEach(() => {
  sets = new Map([
    ['AccountSet/default/prod', set(ids(1, 2))],
    ['ClusterAccountSet//partners', set(ids(3, 1))],
    ['AccountSet/other/prod', set(ids(70, 1))],
    ['ClusterAccountSet//big', set(ids(10, 46))],
  ]);
  world = reconcileWorld(withHook());
});

const PROD: AccountSetRef = { kind: 'AccountSet', name: 'prod' };
const PARTNERS: AccountSetRef = { kind: 'ClusterAccountSet', name: 'partners' };
const spec = (s: Partial<ImageShareSpec>): ImageShareSpec => ({ ...REF, ...s });
const shared = () => [...world.cloud.image(REF).accounts.keys()].sort();
const pass = () => reconcile('default', 'share', world.deps);
const ready = () => world.store.must('default', 'share').status?.conditions?.find((c) => c.type === 'Ready');
const stalled = () => world.store.must('default', 'share').status?.conditions?.find((c) => c.type === 'Stalled');

describe('resolution into the accounts the pass plans with', () => {
  it.each([
    {
      why: 'inline accounts and both kinds of set are shared together, each once',
      s: { accounts: [id(1), id(9)], accountSetRefs: [PROD, PARTNERS] },
      want: [id(1), id(2), id(3), id(9)],
    },
    {
      why: 'an AccountSet is looked up in the namespace of the object only: a list of the same name elsewhere is not used',
      s: { accountSetRefs: [PROD] },
      want: ids(1, 2),
    },
    {
      why: 'an expiring account in force is granted next to the sets (the union, then asOf)',
      s: { accountSetRefs: [PARTNERS], expiringAccounts: [{ id: id(5), expiresAt: '2027-01-01T00:00:00Z' }] },
      want: [id(3), id(5)],
    },
  ])('$why', async ({ s, want }) => {
    world.store.create('share', spec(s));
    await pass();
    expect(shared()).toEqual(want);
    expect(ready()?.status).toBe('True');
  });

  it('Authoritative: an account removed from the set is revoked at the next pass, like one removed from accounts', async () => {
    world.store.create('share', spec({ accountSetRefs: [PROD] }));
    await pass();
    sets.set('AccountSet/default/prod', set([id(2), id(4)]));
    await pass();
    expect(shared()).toEqual([id(2), id(4)]);
    expect(world.cloud.writes().map((c) => `${c.op} ${c.accounts?.join(',')}`)).toEqual([
      `grant ${id(1)},${id(2)}`,
      `revoke ${id(1)}`,
      `grant ${id(4)}`,
    ]);
  });
});

it('the tenancy check at reconcile is asked about the union, so a set cannot smuggle in a recipient a policy forbids', async () => {
  const asked: string[][] = [];
  world = reconcileWorld({
    ...withHook(),
    policy: async (obj) => {
      asked.push(obj.spec.accounts ?? []);
      return { allowed: false, policy: 'p', rule: PolicyRule.Accounts, message: 'not allowed', enforce: false };
    },
  });
  world.store.create('share', spec({ accounts: [id(9)], accountSetRefs: [PARTNERS] }));
  await pass();
  expect(asked).toEqual([[id(3), id(9)]]);
  expect(world.cloud.calls).toEqual([]);
});

describe('a pass that cannot resolve stops before any cloud call', () => {
  it.each([
    {
      why: 'a missing set is not an empty list: under Authoritative that would revoke every account it held',
      refs: [PROD, { kind: 'AccountSet', name: 'gone' } as AccountSetRef],
      reason: 'AccountSetNotFound',
      message: 'AccountSet gone referenced by spec.accountSetRefs does not exist in this namespace',
    },
    {
      why: 'a missing ClusterAccountSet likewise, named by kind',
      refs: [{ kind: 'ClusterAccountSet', name: 'gone' } as AccountSetRef],
      reason: 'AccountSetNotFound',
      message: 'ClusterAccountSet gone referenced by spec.accountSetRefs does not exist',
    },
    {
      why: 'a union over the 50-account quota would fail at ECS half way; the message names the lists that make it up',
      refs: [PROD, { kind: 'ClusterAccountSet', name: 'big' } as AccountSetRef],
      reason: 'TooManyAccounts',
      message: 'The accounts of spec.accounts, AccountSet prod, ClusterAccountSet big add up to 51 distinct accounts',
    },
  ])('$why', async ({ refs, reason, message }) => {
    // Shared and managed before: the stop must leave it as it is.
    world.store.create('share', spec({ accounts: [id(60), id(61), id(62), id(63)] }));
    await pass();
    world.store.updateSpec('share', { accounts: ids(60, 3), accountSetRefs: refs });
    const callsBefore = world.cloud.calls.length;
    const r = await pass();
    expect(world.cloud.calls.length).toBe(callsBefore);
    expect(shared()).toEqual(ids(60, 4));
    expect(stalled()).toMatchObject({ status: 'True', reason });
    expect(stalled()?.message).toContain(message);
    expect(r.requeue).not.toEqual({ kind: 'backoff' });
  });

  it('without the hook (a consumer that has no account-set cache) an object with references stops as well', async () => {
    world = reconcileWorld();
    world.store.create('share', spec({ accounts: [id(1)], accountSetRefs: [PROD] }));
    await pass();
    expect(world.cloud.calls).toEqual([]);
    expect(stalled()?.reason).toBe('AccountSetNotFound');
  });

  it('a suspended object reports Suspended, not a missing set: suspend means no reconciliation at all', async () => {
    world.store.create('share', spec({ suspend: true, accountSetRefs: [{ kind: 'AccountSet', name: 'gone' }] }));
    await pass();
    expect(ready()?.reason).toBe('Suspended');
  });

  it('deletion under Revoke still cleans up when a referenced set is gone: cleanup needs only what this object granted', async () => {
    world.store.create('share', spec({ deletionPolicy: 'Revoke', accountSetRefs: [PROD] }));
    await pass();
    expect(shared()).toEqual(ids(1, 2));
    sets.delete('AccountSet/default/prod');
    world.store.delete('share');
    await pass();
    expect(shared()).toEqual([]);
    await expect(world.store.get('default', 'share')).resolves.toBeNull();
  });
});

describe('a set child never keeps account-set references of its own', () => {
  const SET: SetView = {
    name: 'golden',
    uid: 'u1',
    spec: { selector: { imageFamily: 'golden' }, regions: [REF.regionId], accountSetRefs: [PROD] },
  };
  const child = (s: Partial<ImageShareSpec>): ChildView => ({
    name: 'golden-child',
    ownerUid: 'u1',
    labels: childLabels('golden', REF.regionId),
    spec: { ...REF, ...s },
    deleting: false,
    pass: { observed: true, holdsFinalizer: false, owesCleanup: false },
  });
  it.each([
    {
      why: 'a reference added to a child by hand would share with accounts its set never named: it is removed',
      c: child({ accountSetRefs: [PARTNERS] }),
      want: { spec: { accountSetRefs: null } },
    },
    {
      why: 'a child as the set writes it (references resolved into accounts by the set) is left alone',
      c: child({}),
      want: undefined,
    },
  ])('$why', ({ c, want }) => {
    expect(driftPatch(SET, c)?.patch).toEqual(want);
  });
});
