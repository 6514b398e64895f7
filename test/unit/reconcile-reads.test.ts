// Behaviour table for what a read is allowed to change (issue 14 items 9, 10, 12 and the adoption message of
// issue 15): reads that go backwards, a share someone else re-made, a revoke that a read contradicts, and shares
// that existed before an Authoritative object took the image over. Each row says why, and asserts what the cloud
// holds, the calls made, the status and the events.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShareSpec } from '../../src/api/types.ts';
import type { ModifyResult } from '../../src/cloud/port.ts';
import type { EventSpec } from '../../src/reconcile/events.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../../src/reconcile/reconcile.ts';
import type { FakeCloud } from '../support/fake-cloud.ts';
import type { FakeStore } from '../support/fake-store.ts';
import { type ReconcileWorld, reconcileWorld } from '../support/reconcile-world.ts';

const ref = { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' };
const A = '1111111111111111';
const B = '2222222222222222';
const X = '9999999999999999';
const WINDOW = 60_000;

let world: ReconcileWorld;
let store: FakeStore;
let cloud: FakeCloud;
let events: EventSpec[];
let deps: ReconcileDeps;

beforeEach(() => {
  world = reconcileWorld({ confirmationWindowMs: WINDOW });
  ({ store, cloud, events, deps } = world);
});

const spec = (s: Partial<ImageShareSpec> = {}): ImageShareSpec => ({ ...ref, accounts: [A, B], ...s });
const status = () => store.must('default', 'share').status;
const ready = () => status()?.conditions?.find((c) => c.type === 'Ready');
const shared = () => [...cloud.image(ref).accounts.keys()].sort();
const ops = () => cloud.writes().map((c) => (c.accounts ? `${c.op} ${c.accounts.join(',')}` : c.op));
const pass = (): Promise<ReconcileResult> => reconcile('default', 'share', deps);

/** The next reads show the cloud as it was with `edit` applied (a replica behind the one that answered before). */
function staleReads(edit: (accounts: Map<string, string>) => void): void {
  const now = new Map(cloud.image(ref).accounts);
  edit(cloud.image(ref).accounts);
  cloud.freezeReads(ref);
  cloud.image(ref).accounts.clear();
  for (const [id, t] of now) cloud.image(ref).accounts.set(id, t);
}

describe('reads that go backwards', () => {
  it('a grant a read confirmed, then a staler read that misses it: no second grant, no drift event, still Synced', async () => {
    store.create('share', spec());
    await pass();
    world.advance(2_000);
    await pass(); // this read shows A and B: confirmed
    staleReads((acc) => acc.delete(B));
    world.advance(2_000);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(events.map((e) => e.reason)).not.toContain('DriftCorrected');
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('a revoke a read confirmed, then a staler read that still shows the account: no second revoke, no drift event', async () => {
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    store.create('share', spec());
    await pass(); // revokes X, grants A and B
    world.advance(2_000);
    await pass(); // this read no longer shows X: confirmed
    staleReads((acc) => acc.set(X, '2026-01-01T00:00:00Z'));
    world.advance(2_000);
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`]);
    expect(events.map((e) => e.reason)).not.toContain('DriftCorrected');
  });

  it('an accepted write is believed for its full window: the last read inside it still sends nothing', async () => {
    store.create('share', spec());
    await pass();
    world.advance(2_000);
    await pass();
    staleReads((acc) => acc.clear());
    world.advance(WINDOW - 5_000);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
    world.advance(10_000); // past the window: a read that still disagrees is drift
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `grant ${A},${B}`]);
  });
});

describe('a revoke a read contradicts is checked again when its window ends, and status never says Synced meanwhile', () => {
  it('ECS answered the revoke with 200 but did not apply it: Reconciling naming the account, re-checked at the window end, revoked again', async () => {
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    store.create('share', spec());
    const revoke = cloud.revoke.bind(cloud);
    cloud.revoke = async (_r, accounts): Promise<ModifyResult> => {
      cloud.calls.push({ op: 'revoke', accounts: [...accounts] });
      cloud.revoke = revoke; // only this once
      return { results: accounts.map((id) => ({ id, ok: true as const })) }; // 200, and nothing changed
    };
    const first = await pass();
    expect(first.requeue).toEqual({ kind: 'after', ms: WINDOW });
    world.advance(2_000);
    const second = await pass(); // the read shows X: believed revoked, but said so
    expect(ready()).toMatchObject({ status: 'False', reason: 'Progressing' });
    expect(ready()?.message).toContain(X);
    expect(status()?.conditions?.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    expect(second.requeue).toEqual({ kind: 'after', ms: WINDOW - 2_000 });
    world.advance(WINDOW - 2_000);
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`, `revoke ${X}`]);
    expect(shared()).toEqual([A, B]);
  });

  it('someone re-shares the account a second after our accepted revoke: seen when the window ends, not at the resync', async () => {
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    store.create('share', spec());
    const first = await pass();
    expect(first.requeue.kind === 'after' && first.requeue.ms <= WINDOW).toBe(true);
    world.advance(1_000);
    cloud.image(ref).accounts.set(X, new Date(world.now()).toISOString()); // re-shared by hand
    world.advance(WINDOW);
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`, `revoke ${X}`]);
    expect(shared()).toEqual([A, B]);
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced' });
  });
});

describe('Additive never revokes a share someone else re-made', () => {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  async function grantedAndConfirmed(): Promise<void> {
    store.create('share', spec({ sharePolicy: 'Additive', deletionPolicy: 'Revoke' }));
    await pass();
    world.advance(2_000);
    await pass(); // the read confirms A and B: their SharedTime is recorded as our grants'
    world.advance(WINDOW);
  }

  it('an account revoked and shared again by someone else (a newer SharedTime) is theirs: not revoked when it leaves the spec', async () => {
    await grantedAndConfirmed();
    cloud.image(ref).accounts.set(B, iso(world.now())); // revoked by hand and re-shared, an hour… or a minute later
    world.advance(1_000);
    await pass();
    expect(status()?.managedAccounts).toEqual([A]);
    store.updateSpec('share', { accounts: [A] });
    await pass();
    expect(shared()).toEqual([A, B]);
    expect(ops()).toEqual([`grant ${A},${B}`]);
  });

  it('…nor on a Revoke deletion', async () => {
    await grantedAndConfirmed();
    cloud.image(ref).accounts.set(B, iso(world.now()));
    world.advance(1_000);
    await pass();
    store.delete('share');
    await pass();
    expect(shared()).toEqual([B]);
  });

  it('a staler read showing an older SharedTime changes nothing: the account is still ours and revoked when it leaves the spec', async () => {
    await grantedAndConfirmed();
    staleReads((acc) => acc.set(B, '2026-01-01T00:00:00Z'));
    await pass();
    cloud.thawReads();
    expect(status()?.managedAccounts).toEqual([A, B]);
    store.updateSpec('share', { accounts: [A] });
    await pass();
    expect(shared()).toEqual([A]);
  });

  it('our own grant again after drift (someone revoked it) stays ours, though its SharedTime is newer', async () => {
    await grantedAndConfirmed();
    cloud.image(ref).accounts.delete(B); // revoked by hand: drift
    await pass(); // granted again
    world.advance(2_000);
    await pass(); // confirmed: the new SharedTime is ours
    world.advance(WINDOW);
    store.updateSpec('share', { accounts: [A] });
    await pass();
    expect(shared()).toEqual([A]);
  });
});

describe("a share someone else makes inside our revoke's window (F6): told from a stale read by its SharedTime", () => {
  const OLD = '2026-01-01T00:00:00Z';
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const revokes = () => (status()?.pendingWrites ?? []).filter((w) => w.action === 'Revoke' && w.account === X);

  it('re-shared by someone after our revoke, then wanted: a new share, so no grant is recorded, it is not adopted, and a Revoke deletion leaves it', async () => {
    cloud.image(ref).accounts.set(X, OLD);
    store.create('share', spec({ accounts: [A], deletionPolicy: 'Revoke' }));
    await pass(); // revokes X (recording the SharedTime it revoked), grants A
    expect(revokes()).toEqual([expect.objectContaining({ sharedTime: OLD })]);
    world.advance(2_000);
    cloud.image(ref).accounts.set(X, iso(world.now())); // someone else shares X again: a newer SharedTime
    world.advance(1_000);
    store.updateSpec('share', { accounts: [A, X] });
    await pass();
    world.advance(2_000);
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A}`]);
    expect(status()?.managedAccounts).toEqual([A]);
    expect(status()?.pendingWrites?.some((w) => w.account === X)).toBe(false);
    store.delete('share');
    await pass();
    expect(shared()).toEqual([X]);
  });

  it('a stale read showing the share we revoked, with its old SharedTime, is still stale: no second revoke, no drift event, the account named until a read agrees', async () => {
    cloud.image(ref).accounts.set(X, OLD);
    store.create('share', spec());
    await pass();
    staleReads((acc) => acc.set(X, OLD));
    world.advance(2_000);
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`]);
    expect(events.map((e) => e.reason)).not.toContain('DriftCorrected');
    expect(revokes()).toHaveLength(1);
    expect(ready()?.message).toContain(X);
    expect(status()?.managedAccounts).toEqual([A, B]);
  });

  it('a pending Revoke written without sharedTime (an older version) cannot tell, so a re-share inside its window is taken as a stale read, as before', async () => {
    cloud.image(ref).accounts.set(X, OLD);
    store.create('share', spec());
    await pass();
    for (const w of revokes()) delete w.sharedTime;
    world.advance(2_000);
    cloud.image(ref).accounts.set(X, iso(world.now()));
    world.advance(1_000);
    await pass(); // believed revoked over the read until the window ends: not revoked again yet
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`]);
    expect(revokes()).toHaveLength(1);
    expect(ready()?.message).toContain(X);
  });

  it('with sharedTime recorded, the same re-share of an unwanted account is seen at once: Authoritative revokes it again', async () => {
    cloud.image(ref).accounts.set(X, OLD);
    store.create('share', spec());
    await pass();
    world.advance(2_000);
    cloud.image(ref).accounts.set(X, iso(world.now()));
    world.advance(1_000);
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`, `revoke ${X}`]);
    expect(shared()).toEqual([A, B]);
  });
});

describe('adoption is visible (issue 15)', () => {
  it('an Authoritative object taking over an image shared by hand: its first status names the accounts it revoked', async () => {
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z'); // shared by hand before the image came under Git
    store.create('share', spec());
    await pass();
    expect(shared()).toEqual([A, B]);
    expect(store.statusWrites).toBe(2); // the intent record, then the first outcome
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(ready()?.message).toContain(`Revoked 1 account this object had not shared: ${X}.`);
  });

  it('revoking an account this object granted itself is not called out', async () => {
    store.create('share', spec());
    await pass();
    store.updateSpec('share', { accounts: [A] });
    world.advance(2_000);
    await pass();
    expect(ready()?.message).not.toContain('had not shared');
  });
});

describe('the pass deadline runs on the injected clock', () => {
  it('the deadline fires on the fake clock during a grant: the publish after it never starts (the next pass goes on)', async () => {
    store.create('share', spec({ community: true }));
    const grant = cloud.grant.bind(cloud);
    cloud.grant = async (r, accounts) => {
      world.advance(61_000); // the grant took longer than the 60 s pass deadline
      return grant(r, accounts);
    };
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
    cloud.grant = grant;
    await pass();
    expect([ops(), cloud.image(ref).community]).toEqual([[`grant ${A},${B}`, 'publish'], true]);
  });

  it('control: a grant within the deadline is followed by the publish in the same pass', async () => {
    store.create('share', spec({ community: true }));
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, 'publish']);
  });
});
