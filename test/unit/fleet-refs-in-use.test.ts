// The pure parts of the accountset-in-use controller and the fan-out index (docs/adr/0033): who references which set,
// when the finalizer goes on and off, what the status says, and which set events are news to the referrers.
import { describe, expect, it } from '@jest/globals';
import {
  ACCOUNT_SET_IN_USE_FINALIZER,
  type AccountSetObject,
  finalizerAction,
  inUseStatus,
  sameInUseStatus,
} from '../../src/controllers/accountset/in-use.ts';
import {
  accountSetKey,
  parseAccountSetKey,
  ReferenceIndex,
  referencedSets,
  SetGenerations,
} from '../../src/controllers/accountset/references.ts';

const NOW = new Date('2026-12-03T16:00:00Z');
const set = (
  meta: Partial<AccountSetObject['metadata']> = {},
  status?: AccountSetObject['status'],
): AccountSetObject => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'AccountSet',
  metadata: { name: 'prod', namespace: 'team', generation: 2, resourceVersion: '7', ...meta },
  spec: { accounts: [{ id: '2000000000000001' }] },
  ...(status === undefined ? {} : { status }),
});

describe('set keys', () => {
  it.each([
    {
      why: 'an AccountSet belongs to its namespace',
      kind: 'AccountSet' as const,
      ns: 'team',
      key: 'AccountSet/team/prod',
    },
    {
      why: 'a ClusterAccountSet has no namespace, whoever references it',
      kind: 'ClusterAccountSet' as const,
      ns: 'team',
      key: 'ClusterAccountSet//prod',
    },
  ])('$why', ({ kind, ns, key }) => {
    expect(accountSetKey(kind, ns, 'prod')).toBe(key);
    expect(parseAccountSetKey(key)).toEqual({ kind, namespace: kind === 'AccountSet' ? ns : '', name: 'prod' });
  });

  it('references of an object in namespace a name sets of namespace a (and cluster sets), each once', () => {
    expect(
      referencedSets('a', [
        { kind: 'AccountSet', name: 'x' },
        { kind: 'ClusterAccountSet', name: 'x' },
        { kind: 'AccountSet', name: 'x' },
      ]),
    ).toEqual(['AccountSet/a/x', 'ClusterAccountSet//x']);
    expect(referencedSets('a', undefined)).toEqual([]);
  });
});

describe('ReferenceIndex', () => {
  it.each([
    {
      why: 'a new referrer: every set it names gained one',
      steps: [{ referrer: 'a/s1', sets: ['S1', 'S2'], changed: ['S1', 'S2'] }],
      referrers: { S1: ['a/s1'], S2: ['a/s1'] },
    },
    {
      why: 'an unchanged spec changes nothing (a status write of the referrer re-checks no set)',
      steps: [
        { referrer: 'a/s1', sets: ['S1'], changed: ['S1'] },
        { referrer: 'a/s1', sets: ['S1'], changed: [] },
      ],
      referrers: { S1: ['a/s1'] },
    },
    {
      why: 'a reference swapped: the old set lost a referrer and the new one gained it; both are re-checked',
      steps: [
        { referrer: 'a/s1', sets: ['S1'], changed: ['S1'] },
        { referrer: 'a/s1', sets: ['S2'], changed: ['S1', 'S2'] },
      ],
      referrers: { S1: [], S2: ['a/s1'] },
    },
    {
      why: 'a referrer gone (deleted): its sets lose it, and a set with another referrer keeps that one',
      steps: [
        { referrer: 'a/s1', sets: ['S1'], changed: ['S1'] },
        { referrer: 'a/s2', sets: ['S1'], changed: ['S1'] },
        { referrer: 'a/s1', sets: [], changed: ['S1'] },
      ],
      referrers: { S1: ['a/s2'] },
    },
  ])('$why', ({ steps, referrers }) => {
    const index = new ReferenceIndex();
    for (const s of steps) expect(index.update(s.referrer, s.sets).sort()).toEqual(s.changed);
    for (const [key, want] of Object.entries(referrers)) expect(index.referrers(key)).toEqual(want);
  });
});

describe('SetGenerations: which set events reach the referrers', () => {
  it('the first sight, a spec edit (generation), a re-creation (uid) and a deletion are news; a metadata or status write is not', () => {
    const g = new SetGenerations();
    expect(g.changed('k', set({ uid: 'u1' }))).toBe(true);
    expect(g.changed('k', set({ uid: 'u1', finalizers: [ACCOUNT_SET_IN_USE_FINALIZER] }))).toBe(false);
    expect(g.changed('k', set({ uid: 'u1', generation: 3 }))).toBe(true);
    expect(g.changed('k', set({ uid: 'u2', generation: 3 }))).toBe(true);
    expect(g.changed('k', undefined)).toBe(true);
  });
});

describe('finalizerAction', () => {
  it.each([
    { why: 'referenced and not held: hold it', s: set(), referrers: 1, want: 'add' },
    {
      why: 'referenced but already being deleted: the apiserver refuses a new finalizer, too late to hold it',
      s: set({ deletionTimestamp: '2026-12-03T15:00:00Z' }),
      referrers: 1,
      want: undefined,
    },
    {
      why: 'held while being deleted and still referenced: keep holding',
      s: set({ deletionTimestamp: '2026-12-03T15:00:00Z', finalizers: [ACCOUNT_SET_IN_USE_FINALIZER] }),
      referrers: 2,
      want: undefined,
    },
    {
      why: 'held and no longer referenced: let go (a pending deletion then completes)',
      s: set({ finalizers: ['other.io/x', ACCOUNT_SET_IN_USE_FINALIZER] }),
      referrers: 0,
      want: 'remove',
    },
    { why: 'neither referenced nor held: nothing to do', s: set(), referrers: 0, want: undefined },
  ])('$why', ({ s, referrers, want }) => {
    expect(finalizerAction(s, referrers)).toBe(want);
  });
});

describe('inUseStatus', () => {
  const six = ['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6'].map((k) => `ImageShare ${k}`);
  it.each([
    {
      why: 'referenced: names the referrers and says a deletion would wait',
      s: set(),
      referrers: ['ImageShare team/golden', 'ImageShareSet team/fleet'],
      want: {
        status: 'True',
        reason: 'Referenced',
        message: 'Referenced by ImageShare team/golden, ImageShareSet team/fleet;',
      },
    },
    {
      why: 'being deleted: the message says what to do; five are named and the rest counted',
      s: set({ deletionTimestamp: '2026-12-03T15:00:00Z' }),
      referrers: six,
      want: {
        status: 'True',
        reason: 'DeletionBlocked',
        message: 'ImageShare a/5 and 1 more. Remove it from their spec.accountSetRefs',
      },
    },
    {
      why: 'not referenced',
      s: set(),
      referrers: [],
      want: { status: 'False', reason: 'NotReferenced', message: 'No watched ImageShare or ImageShareSet' },
    },
  ])('$why', ({ s, referrers, want }) => {
    const st = inUseStatus(s, referrers, NOW);
    const [c] = st.conditions;
    expect(st.referrers).toBe(referrers.length);
    expect(c).toMatchObject({ type: 'InUse', status: want.status, reason: want.reason, observedGeneration: 2 });
    expect(c?.message).toContain(want.message);
  });

  it('lastTransitionTime moves only when the status flips, so an unchanged status is not written again', () => {
    const first = inUseStatus(set(), ['ImageShare team/a'], NOW);
    const later = new Date(NOW.getTime() + 60_000);
    const same = inUseStatus(set({}, first), ['ImageShare team/a'], later);
    expect(sameInUseStatus(first, same)).toBe(true);
    const more = inUseStatus(set({}, first), ['ImageShare team/a', 'ImageShare team/b'], later);
    expect(more.conditions[0]?.lastTransitionTime).toBe(NOW.toISOString());
    expect(sameInUseStatus(first, more)).toBe(false);
    // As the apiserver serves it: the same condition with its keys in another order.
    const [c] = first.conditions;
    const served = { referrers: 1, conditions: [Object.fromEntries(Object.entries(c ?? {}).reverse())] };
    expect(sameInUseStatus(served as AccountSetObject['status'], same)).toBe(true);
    const flipped = inUseStatus(set({}, first), [], later);
    expect(flipped.conditions[0]?.lastTransitionTime).toBe(later.toISOString());
  });
});
