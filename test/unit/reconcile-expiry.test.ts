// Behaviour table for shares that expire (spec.expiringAccounts, ADR 0032): granted while in force, revoked at the
// first pass after expiresAt whatever the share policy (Additive: only what this object granted), never granted
// once past, reported as Expired with the time, and the pass comes back at the expiry rather than at the resync.
import { beforeEach, expect, it } from '@jest/globals';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { type ReconcileDeps, reconcile } from '../../src/reconcile/reconcile.ts';
import type { FakeCloud } from '../support/fake-cloud.ts';
import type { FakeStore } from '../support/fake-store.ts';
import { REF, type ReconcileWorld, reconcileWorld, T0 } from '../support/reconcile-world.ts';

const A = '1111111111111111';
const V = '7777777777777777';
const HOUR = 3_600_000;
const at = (ms: number) => new Date(T0 + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

let world: ReconcileWorld;
let store: FakeStore;
let cloud: FakeCloud;
let deps: ReconcileDeps;
beforeEach(() => {
  world = reconcileWorld();
  ({ store, cloud, deps } = world);
});

const spec = (s: Partial<ImageShareSpec>): ImageShareSpec => ({ ...REF, accounts: [A], ...s });
const shared = () => [...cloud.image(REF).accounts.keys()].sort();
const outcome = (id: string) => store.must('default', 'share').status?.accounts?.find((a) => a.id === id);
const ops = () => cloud.writes().map((c) => (c.accounts ? `${c.op} ${c.accounts.join(',')}` : c.op));
const pass = () => reconcile('default', 'share', deps);

it('a vendor account in force is granted beside the permanent one, shown with its end, and looked at again at the end', async () => {
  store.create('share', spec({ expiringAccounts: [{ id: V, expiresAt: at(2 * HOUR) }] }));
  const r = await pass();
  expect(shared()).toEqual([A, V]);
  expect(outcome(V)).toMatchObject({ state: 'Shared', expiresAt: at(2 * HOUR) });
  // The next look is the resync (10 min default) or the expiry, whichever is sooner: here the resync.
  expect(r.requeue).toEqual({ kind: 'after', ms: 600_000 });
  world.advance(2 * HOUR - 30_000);
  await pass();
  const near = await pass();
  // 30 s before the end, the pass comes back just after it (1 s margin), not in 10 minutes.
  expect(near.requeue).toEqual({ kind: 'after', ms: 31_000 });
});

it.each([
  { why: 'Authoritative: the expired account is revoked', sharePolicy: 'Authoritative' as const },
  { why: 'Additive: revoked too, because this object granted it', sharePolicy: 'Additive' as const },
])('after expiresAt: $why; status says Expired with the time', async ({ sharePolicy }) => {
  store.create('share', spec({ sharePolicy, expiringAccounts: [{ id: V, expiresAt: at(HOUR) }] }));
  await pass();
  world.advance(HOUR + 1_000);
  await pass();
  expect(shared()).toEqual([A]);
  expect(ops()).toEqual([`grant ${A},${V}`, `revoke ${V}`]);
  expect(outcome(V)).toMatchObject({ state: 'Expired', expiresAt: at(HOUR) });
  expect(store.must('default', 'share').status?.managedAccounts).toEqual([A]);
});

it('an entry already past its end when applied is never granted, and says so', async () => {
  store.create('share', spec({ expiringAccounts: [{ id: V, expiresAt: at(-60_000) }] }));
  await pass();
  expect(ops()).toEqual([`grant ${A}`]);
  expect(outcome(V)).toMatchObject({
    state: 'Expired',
    expiresAt: at(-60_000),
    message: expect.stringContaining('not shared'),
  });
});

it('Additive never revokes an expired account someone else shared: only its own grants', async () => {
  cloud.image(REF).accounts.set(V, '2026-01-01T00:00:00Z');
  store.create('share', spec({ sharePolicy: 'Additive', expiringAccounts: [{ id: V, expiresAt: at(HOUR) }] }));
  await pass();
  world.advance(HOUR + 1_000);
  await pass();
  // V was shared before this object wanted it (its grant was a no-op it never made): never revoked.
  expect(ops()).toEqual([`grant ${A}`]);
  expect(shared()).toEqual([A, V].sort());
});

it('extending expiresAt before it passes keeps the share: no revoke, no second grant', async () => {
  store.create('share', spec({ expiringAccounts: [{ id: V, expiresAt: at(HOUR) }] }));
  await pass();
  world.advance(HOUR - 60_000);
  store.replaceSpec('share', spec({ expiringAccounts: [{ id: V, expiresAt: at(3 * HOUR) }] }));
  await pass();
  world.advance(120_000);
  await pass();
  expect(ops()).toEqual([`grant ${A},${V}`]);
  expect(outcome(V)).toMatchObject({ state: 'Shared', expiresAt: at(3 * HOUR) });
});
