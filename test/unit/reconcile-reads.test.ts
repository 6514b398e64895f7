// Behaviour table for what a read is allowed to change (issue 14 items 9, 10, 12 and the adoption message of
// issue 15): reads that go backwards, a share someone else re-made, a revoke that a read contradicts, and shares
// that existed before an Authoritative object took the image over. Each row says why, and asserts what the cloud
// holds, the calls made, the status and the events.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShareSpec } from '../../src/api/types.ts';
import type { ModifyResult } from '../../src/cloud/port.ts';
import type { EventSpec } from '../../src/reconcile/events.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../../src/reconcile/reconcile.ts';
import { FakeCloud } from '../support/fake-cloud.ts';
import { FakeStore } from '../support/fake-store.ts';

const ref = { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' };
const A = '1111111111111111';
const B = '2222222222222222';
const X = '9999999999999999';
const T0 = Date.parse('2026-11-28T12:00:00Z');
const WINDOW = 60_000;

let store: FakeStore;
let cloud: FakeCloud;
let events: EventSpec[];
let deps: ReconcileDeps;
let clockMs: number;

beforeEach(() => {
  store = new FakeStore();
  cloud = new FakeCloud();
  clockMs = T0;
  cloud.now = () => clockMs;
  cloud.addImage(ref);
  events = [];
  deps = {
    store,
    cloud,
    emit: (_o, e) => events.push(e),
    now: () => new Date(clockMs),
    random: () => 0,
    defaultResyncMs: 600_000,
    confirmationWindowMs: WINDOW,
    readSecretCredentials: async () => ({ ok: false, message: 'unused' }),
  };
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
    clockMs += 2_000;
    await pass(); // this read shows A and B: confirmed
    staleReads((acc) => acc.delete(B));
    clockMs += 2_000;
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(events.map((e) => e.reason)).not.toContain('DriftCorrected');
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('a revoke a read confirmed, then a staler read that still shows the account: no second revoke, no drift event', async () => {
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    store.create('share', spec());
    await pass(); // revokes X, grants A and B
    clockMs += 2_000;
    await pass(); // this read no longer shows X: confirmed
    staleReads((acc) => acc.set(X, '2026-01-01T00:00:00Z'));
    clockMs += 2_000;
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`]);
    expect(events.map((e) => e.reason)).not.toContain('DriftCorrected');
  });

  it('an accepted write is believed for its full window: the last read inside it still sends nothing', async () => {
    store.create('share', spec());
    await pass();
    clockMs += 2_000;
    await pass();
    staleReads((acc) => acc.clear());
    clockMs += WINDOW - 5_000;
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
    clockMs += 10_000; // past the window: a read that still disagrees is drift
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
    clockMs += 2_000;
    const second = await pass(); // the read shows X: believed revoked, but said so
    expect(ready()).toMatchObject({ status: 'False', reason: 'Progressing' });
    expect(ready()?.message).toContain(X);
    expect(status()?.conditions?.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    expect(second.requeue).toEqual({ kind: 'after', ms: WINDOW - 2_000 });
    clockMs += WINDOW - 2_000;
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, `grant ${A},${B}`, `revoke ${X}`]);
    expect(shared()).toEqual([A, B]);
  });

  it('someone re-shares the account a second after our accepted revoke: seen when the window ends, not at the resync', async () => {
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    store.create('share', spec());
    const first = await pass();
    expect(first.requeue.kind === 'after' && first.requeue.ms <= WINDOW).toBe(true);
    clockMs += 1_000;
    cloud.image(ref).accounts.set(X, new Date(clockMs).toISOString()); // re-shared by hand
    clockMs += WINDOW;
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
    clockMs += 2_000;
    await pass(); // the read confirms A and B: their SharedTime is recorded as our grants'
    clockMs += WINDOW;
  }

  it('an account revoked and shared again by someone else (a newer SharedTime) is theirs: not revoked when it leaves the spec', async () => {
    await grantedAndConfirmed();
    cloud.image(ref).accounts.set(B, iso(clockMs)); // revoked by hand and re-shared, an hour… or a minute later
    clockMs += 1_000;
    await pass();
    expect(status()?.managedAccounts).toEqual([A]);
    store.updateSpec('share', { accounts: [A] });
    await pass();
    expect(shared()).toEqual([A, B]);
    expect(ops()).toEqual([`grant ${A},${B}`]);
  });

  it('…nor on a Revoke deletion', async () => {
    await grantedAndConfirmed();
    cloud.image(ref).accounts.set(B, iso(clockMs));
    clockMs += 1_000;
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
    clockMs += 2_000;
    await pass(); // confirmed: the new SharedTime is ours
    clockMs += WINDOW;
    store.updateSpec('share', { accounts: [A] });
    await pass();
    expect(shared()).toEqual([A]);
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
    clockMs += 2_000;
    await pass();
    expect(ready()?.message).not.toContain('had not shared');
  });
});
