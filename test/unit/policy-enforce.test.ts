// spec.enforcement (docs/adr/0030, amendment): which denials are enforced when several policies select a namespace,
// and what a reconcile pass does with an enforced denial. Each row says why.
import { describe, expect, it } from '@jest/globals';
import type { Enforcement, ImageSharePolicy, ImageSharePolicySpec } from '../../src/api/policy-types.ts';
import { Reason } from '../../src/api/reasons.ts';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { evaluate, type Tenancy } from '../../src/policy/evaluate.ts';
import { reportExisting } from '../../src/policy/reconcile-check.ts';
import { reconcile } from '../../src/reconcile/reconcile.ts';
import { REF, reconcileWorld } from '../support/reconcile-world.ts';
import { assertKstatusShape } from '../support/safety.ts';

const pol = (name: string, spec: Partial<ImageSharePolicySpec>, team = 'a'): ImageSharePolicy => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageSharePolicy',
  metadata: { name },
  spec: { namespaceSelector: { matchLabels: { team } }, credentials: { operatorIdentity: true }, ...spec },
});
const OPEN: Tenancy = { mode: 'open', trustedNamespaces: [] };
const RESTRICTED: Tenancy = { mode: 'restricted', trustedNamespaces: [] };
const NS = { name: 'team-a', labels: { team: 'a' } };
const A = '1111111111111111';
const B = '2222222222222222';
const C = '3333333333333333';
const onlyA = { recipients: { accounts: [A] } };
const revoke = (e: Enforcement = 'Revoke') => ({ enforcement: e });

type Row = [
  why: string,
  spec: ImageShareSpec,
  policies: ImageSharePolicy[],
  tenancy: Tenancy,
  enforcedBy: string | false,
];
const spec = (accounts: string[], extra: Partial<ImageShareSpec> = {}): ImageShareSpec => ({
  ...REF,
  accounts,
  ...extra,
});
const ROWS: Row[] = [
  ['enforcement defaults to Report: a denial alone revokes nothing', spec([B]), [pol('p', onlyA)], OPEN, false],
  [
    'Report written out is the same as the default',
    spec([B]),
    [pol('p', { ...onlyA, ...revoke('Report') })],
    OPEN,
    false,
  ],
  ['the denying policy asks to revoke: enforced', spec([B]), [pol('p', { ...onlyA, ...revoke() })], OPEN, 'p'],
  [
    'another selecting policy that allows the object but says Revoke enforces the first one’s denial: one admin asking is enough',
    spec([B]),
    [pol('deny', onlyA), pol('strict', revoke())],
    OPEN,
    'strict',
  ],
  [
    'a Revoke policy that does not select the namespace has no say there',
    spec([B]),
    [pol('deny', onlyA), pol('elsewhere', revoke(), 'b')],
    OPEN,
    false,
  ],
  [
    'the restricted baseline with no policy selecting the namespace stays Report',
    spec([A], { credentials: { roleArn: 'acs:ram::1:role/x' } }),
    [],
    RESTRICTED,
    false,
  ],
  [
    'the baseline denial is enforced when a selecting policy says Revoke',
    spec([A]),
    [pol('strict', revoke())],
    RESTRICTED,
    'strict',
  ],
  [
    'several Revoke policies: the first by name is named',
    spec([B]),
    [pol('z', revoke()), pol('m', { ...onlyA, ...revoke() })],
    OPEN,
    'm',
  ],
];

describe('which denials are enforced', () => {
  it.each(ROWS)('%s', (_why, s, policies, tenancy, enforcedBy) => {
    const d = evaluate(s, NS, policies, tenancy);
    expect(d.allowed).toBe(false);
    if (d.allowed) return;
    expect(d.enforce).toBe(enforcedBy !== false);
    expect(d.enforcedBy).toBe(enforcedBy === false ? undefined : enforcedBy);
  });

  it('an allowed object is allowed whatever the enforcement: Revoke changes only what a denial does', () => {
    expect(evaluate(spec([A]), NS, [pol('p', { ...onlyA, ...revoke() })], OPEN)).toEqual({ allowed: true });
  });
});

/** A world whose policy is edited between passes; the object shares A and B, C was shared out of band. */
function world() {
  let policies: ImageSharePolicy[] = [pol('team', {})];
  const w = reconcileWorld({
    policy: async (obj) => reportExisting(evaluate(obj.spec, NS, policies, OPEN), obj),
  });
  w.cloud.image(REF).accounts.set(C, '2026-01-01T00:00:00Z');
  w.store.create('share', { ...REF, accounts: [A, B], sharePolicy: 'Additive' }, { namespace: 'team-a' });
  const passes = async (n = 3) => {
    for (let i = 0; i < n; i++) await reconcile('team-a', 'share', w.deps);
    const o = w.store.must('team-a', 'share');
    if (o.status) assertKstatusShape(o.status, o.metadata.generation ?? 0);
    return o;
  };
  return { ...w, passes, edit: (p: ImageSharePolicy[]) => (policies = p) };
}
const shared = (w: ReturnType<typeof world>) => [...w.cloud.image(REF).accounts.keys()].sort();

describe('a reconcile pass under an enforced denial', () => {
  it('denied + Revoke: revokes only the accounts this object granted, then stays Stalled/PolicyDenied saying so', async () => {
    const w = world();
    expect((await w.passes()).status?.managedAccounts).toEqual([A, B]);
    w.edit([pol('team', { ...onlyA, ...revoke() })]);
    const before = w.cloud.writes().length;
    const o = await w.passes(1);
    // C was never this object's: it stays; A is revoked too, because the whole object is denied.
    expect(shared(w)).toEqual([C]);
    expect(w.cloud.writes().slice(before)).toEqual([{ op: 'revoke', accounts: [A, B] }]);
    expect(o.status?.managedAccounts).toEqual([]);
    const stalled = o.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: Reason.PolicyDenied });
    expect(stalled?.message).toContain('ImageSharePolicy team denies rule recipients.accounts');
    expect(stalled?.message).toContain('This object revoked 2 account(s) because ImageSharePolicy team enforces');
    // Later passes find nothing of theirs left: no cloud call, still denied.
    const calls = w.cloud.calls.length;
    const again = await w.passes(2);
    expect(w.cloud.calls.length).toBe(calls);
    expect(again.status?.conditions?.find((c) => c.type === 'Stalled')?.reason).toBe(Reason.PolicyDenied);
  });

  it('denied + Report: no cloud call at all, both grants stay and the message says they stay', async () => {
    const w = world();
    await w.passes();
    w.edit([pol('team', onlyA)]);
    const calls = w.cloud.calls.length;
    const o = await w.passes();
    expect(w.cloud.calls.length).toBe(calls);
    expect(shared(w)).toEqual([A, B, C]);
    expect(o.status?.managedAccounts).toEqual([A, B]);
    expect(o.status?.conditions?.find((c) => c.type === 'Stalled')?.message).toContain(
      'a policy denial revokes nothing',
    );
  });

  it('allowed under a Revoke policy: reconciled as usual, nothing revoked', async () => {
    const w = world();
    w.edit([pol('team', { recipients: { accounts: [A, B] }, ...revoke() })]);
    const o = await w.passes();
    expect(shared(w)).toEqual([A, B, C]);
    expect(w.cloud.writes().filter((c) => c.op === 'revoke')).toEqual([]);
    expect(o.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('a duplicate under Revoke leaves what the image’s owner wants: it never revokes what it does not own', async () => {
    const w = world();
    await w.passes();
    // A second object on the same image (the duplicate) holds nothing; only the owner's grants exist.
    w.store.create('dup', { ...REF, accounts: [B] }, { namespace: 'team-a' });
    w.edit([pol('team', { recipients: { accounts: [] }, ...revoke() })]);
    const before = w.cloud.writes().length;
    await reconcile('team-a', 'dup', w.deps);
    expect(w.cloud.writes().slice(before)).toEqual([]);
    expect(shared(w)).toEqual([A, B, C]);
  });
});
