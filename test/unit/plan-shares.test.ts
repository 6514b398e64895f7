import { describe, expect, it } from '@jest/globals';
import { planDeletion, planShares, type PlanInput, type SharePlan } from '../../src/reconcile/plan-shares.ts';
import { assertPlanIsSafe } from '../support/safety.ts';

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => String(2000000000000000 + from + i));
const base: PlanInput = {
  desiredAccounts: [],
  desiredCommunity: undefined,
  sharePolicy: 'Authoritative',
  observedAccounts: [],
  observedCommunity: false,
  managedAccounts: [],
};

interface Row {
  why: string;
  input: Partial<PlanInput>;
  ops: string[];
  blockers?: string[];
  unmanaged?: string[];
}

const A = '1111111111111111';
const B = '2222222222222222';
const C = '3333333333333333';
const X = '9999999999999999';

const rows: Row[] = [
  { why: 'nothing wanted and nothing shared means no calls', input: {}, ops: [] },
  { why: 'a new account is granted', input: { desiredAccounts: [A] }, ops: [`grant ${A}`] },
  { why: 'an account already shared needs no call', input: { desiredAccounts: [A], observedAccounts: [A] }, ops: [] },
  {
    why: 'Authoritative revokes accounts shared out of band, before granting, so exposure only shrinks first',
    input: { desiredAccounts: [A], observedAccounts: [X] },
    ops: [`revoke ${X}`, `grant ${A}`],
  },
  {
    why: 'Additive never revokes an account it did not grant, and reports it as unmanaged',
    input: { sharePolicy: 'Additive', desiredAccounts: [A], observedAccounts: [X] },
    ops: [`grant ${A}`],
    unmanaged: [X],
  },
  {
    why: 'Additive revokes an account it granted once it leaves the spec',
    input: { sharePolicy: 'Additive', desiredAccounts: [A], observedAccounts: [A, B], managedAccounts: [A, B] },
    ops: [`revoke ${B}`],
  },
  {
    why: 'Additive does not claim a wanted account someone else already shared',
    input: { sharePolicy: 'Additive', desiredAccounts: [A], observedAccounts: [A], managedAccounts: [] },
    ops: [],
  },
  {
    why: 'community omitted never touches the flag, whatever the cloud says',
    input: { observedCommunity: true },
    ops: [],
  },
  {
    why: 'community true publishes, last',
    input: { desiredCommunity: true, observedAccounts: [X] },
    ops: [`revoke ${X}`, 'publish'],
  },
  {
    why: 'community false unpublishes first, so grants can follow in the same pass',
    input: { desiredCommunity: false, observedCommunity: true, desiredAccounts: [A] },
    ops: ['unpublish', `grant ${A}`],
  },
  {
    why: 'an encrypted image is never published: ECS would refuse, so the planner blocks it up front',
    input: { desiredCommunity: true, observedEncrypted: true, observedAccounts: [X] },
    ops: [`revoke ${X}`],
    blockers: ['EncryptedImageNotPublishable'],
  },
  { why: 'already published needs no call', input: { desiredCommunity: true, observedCommunity: true }, ops: [] },
  {
    why: 'grants to a community image that the spec does not unpublish are blocked, not sent to fail',
    input: { desiredAccounts: [A], observedCommunity: true },
    ops: [],
    blockers: ['ImageIsCommunity'],
  },
  {
    why: 'Additive grants that would pass the 50-account quota are trimmed before any call',
    input: { sharePolicy: 'Additive', desiredAccounts: ids(100, 5), observedAccounts: ids(0, 48) },
    ops: [`grant ${ids(100, 2).join(',')}`],
    blockers: ['AccountQuotaExceeded'],
    unmanaged: ids(0, 48),
  },
  {
    why: 'revokes make room for grants within the quota (removes before adds)',
    input: { desiredAccounts: ids(100, 50), observedAccounts: ids(0, 50) },
    ops: [
      ...[0, 10, 20, 30, 40].map((i) => `revoke ${ids(i, 10).join(',')}`),
      ...[100, 110, 120, 130, 140].map((i) => `grant ${ids(i, 10).join(',')}`),
    ],
  },
  {
    why: '23 grants become 3 calls of at most 10',
    input: { desiredAccounts: ids(0, 23) },
    ops: [`grant ${ids(0, 10).join(',')}`, `grant ${ids(10, 10).join(',')}`, `grant ${ids(20, 3).join(',')}`],
  },
  { why: 'duplicates in the spec are granted once', input: { desiredAccounts: [A, A, B] }, ops: [`grant ${A},${B}`] },
];

const show = (p: SharePlan) =>
  p.operations.map((o) => ('accounts' in o ? `${o.kind} ${o.accounts.join(',')}` : o.kind));

describe('planShares', () => {
  it.each(rows)('$why', (row) => {
    const plan = planShares({ ...base, ...row.input });
    expect(show(plan)).toEqual(row.ops);
    expect(plan.blockers.map((b) => b.reason)).toEqual(row.blockers ?? []);
    expect(plan.unmanagedShares).toEqual(row.unmanaged ?? []);
    assertPlanIsSafe({ ...base, ...row.input }, plan);
  });
});

describe('planDeletion', () => {
  const observed = {
    observedAccounts: [A, B, X],
    observedCommunity: true,
    managedAccounts: [A, B, C],
    managedCommunity: true,
  };
  it('Retain leaves the cloud exactly as it is', () => {
    expect(show(planDeletion({ deletionPolicy: 'Retain', ...observed }))).toEqual([]);
  });
  it('Revoke unpublishes first, then revokes only managed accounts that are still shared', () => {
    expect(show(planDeletion({ deletionPolicy: 'Revoke', ...observed }))).toEqual(['unpublish', `revoke ${A},${B}`]);
  });
  it('Revoke does not unpublish an image this object did not publish', () => {
    expect(show(planDeletion({ deletionPolicy: 'Revoke', ...observed, managedCommunity: false }))).toEqual([
      `revoke ${A},${B}`,
    ]);
  });
});
