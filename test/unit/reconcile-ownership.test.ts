// Behaviour table for ownership that cannot be lost (ADR 0007): crashes between awaits, foreign writes and spec
// edits during a pass, read-after-write lag, lost answers and the per-pass write budget. Each row says why, and
// asserts what the cloud holds (not only the calls), the ownership recorded in status and the events.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShareSpec } from '../../src/api/types.ts';
import type { EventSpec } from '../../src/reconcile/events.ts';
import { pollDelayMs } from '../../src/reconcile/ownership.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../../src/reconcile/reconcile.ts';
import { FakeCloud, throttled } from '../support/fake-cloud.ts';
import type { FakeStore } from '../support/fake-store.ts';
import { type ReconcileWorld, reconcileWorld } from '../support/reconcile-world.ts';
import { assertKstatusShape } from '../support/safety.ts';

const ref = { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' };
const A = '1111111111111111';
const B = '2222222222222222';
const X = '9999999999999999';

let world: ReconcileWorld;
let store: FakeStore;
let cloud: FakeCloud;
let events: EventSpec[];
let deps: ReconcileDeps;

beforeEach(() => {
  world = reconcileWorld();
  ({ store, cloud, events, deps } = world);
});

const spec = (s: Partial<ImageShareSpec> = {}): ImageShareSpec => ({ ...ref, accounts: [A, B], ...s });
const status = () => store.must('default', 'share').status;
const shared = () => [...cloud.image(ref).accounts.keys()].sort();
const ops = () => cloud.writes().map((c) => (c.accounts ? `${c.op} ${c.accounts.join(',')}` : c.op));

async function pass(signal?: AbortSignal): Promise<ReconcileResult> {
  const read = store.objects.get('default/share')?.metadata.generation ?? 0;
  const r = await reconcile('default', 'share', deps, signal);
  const o = store.objects.get('default/share');
  // The status describes the generation the pass read, even when the spec changed during the pass.
  if (o?.status) assertKstatusShape(o.status, read);
  return r;
}

/** Runs a pass that "crashes" (is abandoned) at the first status write after ECS accepted a write. */
async function crashAfterCloudWrite(): Promise<void> {
  const write = store.patchStatus.bind(store);
  const before = cloud.writes().length;
  store.patchStatus = async (o, st) => {
    if (cloud.writes().length > before) {
      store.patchStatus = write;
      throw new Error('SIGKILL');
    }
    return write(o, st);
  };
  await expect(pass()).rejects.toThrow('SIGKILL');
}

describe('ownership survives crashes', () => {
  it('a crash right after ECS accepted a grant: the restarted pass adopts it from the intent, and Revoke on delete removes it', async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await crashAfterCloudWrite();
    expect(shared()).toEqual([A, B]);
    expect(status()?.managedAccounts ?? []).toEqual([]);
    world.advance(5_000);
    await pass();
    expect(status()?.managedAccounts).toEqual([A, B]);
    store.delete('share');
    await pass();
    expect(store.objects.has('default/share')).toBe(false);
    expect(shared()).toEqual([]);
  });

  it('Additive: an account granted just before a crash is revoked once it leaves the spec', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    await crashAfterCloudWrite();
    store.updateSpec('share', { accounts: [A] });
    world.advance(5_000);
    await pass();
    expect(shared()).toEqual([A]);
    expect(status()?.managedAccounts).toEqual([A]);
  });

  it('an intent whose grant never left is dropped after the window: nothing adopted, nothing revoked', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    cloud.grant = () => new Promise(() => undefined); // the process dies while the request is being built
    void pass();
    await new Promise((r) => setTimeout(r, 10));
    expect(status()?.pendingWrites?.map((w) => w.account)).toEqual([A, B]);
    store.updateSpec('share', { accounts: [] });
    world.advance(61_000);
    await pass();
    expect(ops()).toEqual([]);
    expect(status()?.pendingWrites).toEqual([]);
    expect(status()?.managedAccounts).toEqual([]);
  });
});

describe('a crashed grant, then a refused re-send', () => {
  it("keeps the crashed pass's pending grant on record, so what it may have shared is still owned", async () => {
    store.create('share', spec({ sharePolicy: 'Additive', deletionPolicy: 'Revoke' }));
    await crashAfterCloudWrite(); // A and B are shared; only the intent is on record
    // …and the next read does not show them yet (reads frozen on the state before the grant).
    const landed = new Map(cloud.image(ref).accounts);
    cloud.image(ref).accounts.clear();
    cloud.freezeReads(ref);
    for (const [id, t] of landed) cloud.image(ref).accounts.set(id, t);
    cloud.failNext.push(throttled()); // the re-send is refused (throttled)
    await pass();
    expect(
      status()
        ?.pendingWrites?.filter((w) => w.action === 'Grant')
        .map((w) => w.account),
    ).toEqual([A, B]);
    cloud.thawReads();
    world.advance(2_000);
    await pass();
    expect(status()?.managedAccounts).toEqual([A, B]);
  });
});

describe('a crashed grant, sent again and crashed again', () => {
  it("the share the first send made is adopted once a read shows it, though it is older than the re-send's intent", async () => {
    store.create('share', spec({ sharePolicy: 'Additive', deletionPolicy: 'Revoke' }));
    await crashAfterCloudWrite(); // A and B are shared (SharedTime T0); only the intent is on record
    const landed = new Map(cloud.image(ref).accounts);
    cloud.image(ref).accounts.clear();
    cloud.freezeReads(ref); // the next read does not show them yet…
    for (const [id, t] of landed) cloud.image(ref).accounts.set(id, t);
    world.advance(1_000);
    await crashAfterCloudWrite(); // …so they are sent again (ECS keeps the first SharedTime), and the pass dies again
    cloud.thawReads();
    world.advance(2_000);
    await pass();
    world.advance(61_000);
    await pass();
    expect(status()?.managedAccounts).toEqual([A, B]);
    expect(status()?.pendingWrites).toEqual([]);
  });
});

describe('the intent record does not flap the conditions', () => {
  it('a retry after throttling keeps Ready False/Throttled in the intent write; only the final write changes it', async () => {
    store.create('share', spec());
    cloud.failNext.push(throttled());
    await pass();
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'Throttled' });
    const reasons: Array<string | undefined> = [];
    const write = store.patchStatus.bind(store);
    store.patchStatus = async (o, st) => {
      reasons.push(st.conditions?.[0]?.reason);
      return write(o, st);
    };
    world.advance(1_000);
    await pass();
    expect(reasons).toEqual(['Throttled', 'Synced']);
  });
});

describe('adoption', () => {
  it("a pending grant whose account ECS shows shared since before the intent was someone else's: not adopted", async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    cloud.grant = () => new Promise(() => undefined); // dies before the request leaves
    void pass();
    await new Promise((r) => setTimeout(r, 10));
    cloud.image(ref).accounts.set(B, '2026-11-28T11:00:00Z'); // shared by someone else an hour before our intent
    cloud.grant = FakeCloud.prototype.grant.bind(cloud);
    world.advance(5_000);
    await pass();
    expect(status()?.managedAccounts).toEqual([A]); // A is simply granted again; B is not adopted
    store.updateSpec('share', { accounts: [] });
    world.advance(61_000);
    await pass();
    expect(shared()).toEqual([B]); // Additive never revokes what it did not grant
  });
});

describe('clock skew', () => {
  it('a grant recorded by a process whose clock runs 60 s ahead of ECS is still adopted (and revoked when it leaves the spec)', async () => {
    store.create('share', spec({ sharePolicy: 'Additive', deletionPolicy: 'Revoke' }));
    const ecsNow = cloud.now;
    cloud.now = () => world.now() - 60_000; // ECS stamps SharedTime from its own clock, a minute behind ours
    await crashAfterCloudWrite(); // A and B shared; only the intent (stamped with our clock) is on record
    world.advance(5_000);
    await pass();
    expect(status()?.managedAccounts).toEqual([A, B]);
    cloud.now = ecsNow;
    store.updateSpec('share', { accounts: [A] });
    await pass();
    expect(shared()).toEqual([A]);
  });
});

describe('ownership survives foreign writes and spec edits during a pass', () => {
  it('a label written by Argo CD during the pass does not throw away the record of the grant', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    const grant = cloud.grant.bind(cloud);
    cloud.grant = async (r, a) => {
      store.touch('share');
      return grant(r, a);
    };
    await pass();
    expect(status()?.managedAccounts).toEqual([A, B]);
  });

  it('an account removed from the spec while the pass grants it is recorded, and the next pass revokes it', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    const grant = cloud.grant.bind(cloud);
    cloud.grant = async (r, a) => {
      store.updateSpec('share', { accounts: [A] });
      return grant(r, a);
    };
    await pass();
    expect(status()?.managedAccounts).toEqual([A, B]);
    expect(status()?.observedGeneration).toBe(1);
    await pass();
    expect(shared()).toEqual([A]);
    expect(status()?.managedAccounts).toEqual([A]);
  });
});

describe('read-after-write lag', () => {
  it('inside the window an accepted write is believed: no repeat, no drift event, Synced', async () => {
    store.create('share', spec({ accounts: [], community: true }));
    cloud.freezeReads(ref);
    await pass();
    world.advance(3_000);
    await pass();
    expect(ops()).toEqual(['publish']);
    expect(events.map((e) => e.reason)).toEqual(['Published']);
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'Synced' });
    expect(status()?.managedCommunity).toBe(true);
  });

  it('an account removed from the spec while its grant is still invisible stays owned and is revoked', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    cloud.freezeReads(ref);
    await pass();
    store.updateSpec('share', { accounts: [A] });
    world.advance(2_000);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `revoke ${B}`]);
    expect(shared()).toEqual([A]);
  });

  it('a managed account removed from the spec is revoked even when a lagging read does not show it', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    await pass();
    world.advance(61_000);
    await pass(); // confirmed: A and B managed, nothing pending
    const landed = new Map(cloud.image(ref).accounts);
    cloud.image(ref).accounts.delete(B);
    cloud.freezeReads(ref); // a read from a replica that does not show B
    for (const [id, t] of landed) cloud.image(ref).accounts.set(id, t);
    store.updateSpec('share', { accounts: [A] });
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `revoke ${B}`]);
    expect(shared()).toEqual([A]);
  });

  it('a managed account removed from the spec that no longer exists is forgotten after one refused revoke, not retried forever', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    await pass();
    world.advance(61_000);
    await pass(); // confirmed: A and B managed
    cloud.image(ref).accounts.delete(B); // B's account was closed: ECS no longer lists it…
    cloud.unknownAccounts.add(B); // …and refuses to touch it
    store.updateSpec('share', { accounts: [A] });
    await pass();
    world.advance(61_000);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `revoke ${B}`]);
    expect(status()?.managedAccounts).toEqual([A]);
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'Synced' });
  });

  it('after the window a read that still disagrees is real drift, handled as drift', async () => {
    store.create('share', spec());
    await pass();
    cloud.image(ref).accounts.delete(B);
    world.advance(61_000);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `grant ${B}`]);
    expect(events.map((e) => e.reason)).toContain('DriftCorrected');
  });
});

describe('lost answers', () => {
  it('a grant whose answer was lost stays pending and is polled with backoff; the read that shows it adopts it', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    cloud.loseNextGrantAnswer = true;
    const first = await pass();
    expect(first.requeue).toEqual({ kind: 'backoff' });
    expect(status()?.managedAccounts ?? []).toEqual([]);
    expect(status()?.pendingWrites?.map((w) => w.account)).toEqual([A, B]);
    world.advance(2_000);
    await pass();
    expect(status()?.managedAccounts).toEqual([A, B]);
    expect(ops()).toEqual([`grant ${A},${B}`]);
  });

  it('a wanted grant whose answer was lost is sent again at once (not after the window); once accepted, lag causes no third send', async () => {
    store.create('share', spec());
    cloud.loseNextGrantAnswer = true;
    cloud.freezeReads(ref); // the read will not show the grant that did land
    await pass();
    world.advance(2_000);
    await pass();
    world.advance(4_000);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `grant ${A},${B}`]);
    expect(status()?.managedAccounts).toEqual([A, B]);
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'Synced' });
  });

  it('a grant whose answer was lost and that is no longer wanted is believed for the window, so it is revoked', async () => {
    store.create('share', spec({ sharePolicy: 'Additive' }));
    cloud.loseNextGrantAnswer = true;
    cloud.freezeReads(ref);
    await pass();
    store.updateSpec('share', { accounts: [A] });
    world.advance(2_000);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `revoke ${B}`, `grant ${A}`]); // A is still wanted: sent again
    cloud.thawReads();
    expect(shared()).toEqual([A]);
  });

  it('polls an unresolved write as often as it is old: 2 s, 4 s, 8 s … at most 30 s', () => {
    expect([0, 2_000, 4_000, 8_000, 16_000, 45_000].map(pollDelayMs)).toEqual([
      2_000, 2_000, 4_000, 8_000, 16_000, 30_000,
    ]);
  });
});

describe('the write budget', () => {
  it('a pass sends at most maxWritesPerPass calls, least exposing first, and comes back for the rest', async () => {
    const many = Array.from({ length: 30 }, (_, i) => String(3000000000000000 + i));
    for (const id of many) cloud.image(ref).accounts.set(id, '2026-01-01T00:00:00Z');
    store.create('share', spec());
    deps.maxWritesPerPass = 2;
    const r = await pass();
    expect(ops()).toEqual([`revoke ${many.slice(0, 10).join(',')}`, `revoke ${many.slice(10, 20).join(',')}`]);
    expect(r.requeue).toEqual({ kind: 'after', ms: 1_000 });
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'Progressing' });
    await pass();
    await pass();
    expect(shared()).toEqual([A, B]);
  });
});

describe('revoke failures', () => {
  it('an account outside the spec whose revoke failed is listed in status.accounts with the reason', async () => {
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    cloud.unknownAccounts.add(X); // e.g. an account closed since it was shared
    store.create('share', spec());
    await pass();
    expect(status()?.accounts?.find((a) => a.id === X)).toMatchObject({ state: 'Failed', reason: 'AccountNotFound' });
    expect(status()?.accounts?.find((a) => a.id === X)?.message).toMatch(/^Could not be revoked: /);
  });
});

describe('a superseded spec', () => {
  it('once the cache shows a newer spec, no further write starts; what was written is recorded and the next pass continues', async () => {
    const many = Array.from({ length: 25 }, (_, i) => String(3000000000000000 + i));
    store.create('share', spec({ accounts: many, sharePolicy: 'Additive' }));
    const newer = new AbortController();
    deps.specSuperseded = () => newer.signal;
    const grant = cloud.grant.bind(cloud);
    cloud.grant = async (r, a) => {
      const out = await grant(r, a);
      newer.abort(); // the user edited the spec while the first batch was being granted
      return out;
    };
    const r = await pass();
    expect(ops()).toEqual([`grant ${many.slice(0, 10).join(',')}`]);
    expect(status()?.managedAccounts).toEqual(many.slice(0, 10));
    expect(status()?.pendingWrites?.filter((w) => !many.slice(0, 10).includes(w.account ?? ''))).toEqual([]);
    expect(r.result).not.toBe('aborted');
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'Progressing' });
  });

  it('the pass hands back the signal it got when it ends, so the watch keeps nothing per object between passes', async () => {
    store.create('share', spec());
    const given = new AbortController().signal;
    const released: Array<[string, string, AbortSignal]> = [];
    deps.specSuperseded = () => given;
    deps.specReleased = (namespace, name, signal) => released.push([namespace, name, signal]);
    await pass();
    expect(released).toHaveLength(1);
    expect(released[0]?.[2]).toBe(given);
  });
});

describe('cancellation', () => {
  it('a cancelled pass starts no cloud write and writes no status', async () => {
    store.create('share', spec());
    const ac = new AbortController();
    const observe = cloud.observe.bind(cloud);
    cloud.observe = async (r) => {
      const seen = await observe(r);
      ac.abort();
      return seen;
    };
    const r = await pass(ac.signal);
    expect(r.result).toBe('aborted');
    expect(ops()).toEqual([]);
    expect(store.statusWrites).toBe(0);
  });
});

describe('the finalizer exists only while deletion has cleanup to do', () => {
  it('switching to Retain removes it, so deletion never waits for the operator', async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    expect(store.must('default', 'share').metadata.finalizers).toEqual(['ecs.alicloud.dev/cleanup']);
    store.updateSpec('share', { deletionPolicy: 'Retain' });
    await pass();
    expect(store.must('default', 'share').metadata.finalizers).toEqual([]);
  });

  it('Plan mode and objects that manage nothing never get one', async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke', mode: 'Plan' }));
    await pass();
    expect(store.must('default', 'share').metadata.finalizers ?? []).toEqual([]);
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z'); // shared by someone else: nothing of ours to undo
    store.replaceSpec(
      'share',
      spec({ deletionPolicy: 'Revoke', mode: 'Apply', accounts: [X], sharePolicy: 'Additive' }),
    );
    await pass();
    expect(store.must('default', 'share').metadata.finalizers ?? []).toEqual([]);
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'Synced' });
  });

  it('deleting with Revoke: an account that no longer exists counts as revoked', async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    cloud.unknownAccounts.add(B);
    store.delete('share');
    const before = cloud.writes().length;
    await pass();
    expect(ops().slice(before)).toEqual([`revoke ${A},${B}`]); // both revoked in one call; ECS refuses only B
    expect(shared()).toEqual([B]); // A is gone; B, which ECS says does not exist, is all that is left listed
    expect(store.objects.has('default/share')).toBe(false);
  });

  it('deleting with Revoke when the image is gone finishes at once', async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    cloud.images.clear();
    store.delete('share');
    await pass();
    expect(store.objects.has('default/share')).toBe(false);
  });

  it('deleting with Revoke without credentials says how to let the deletion finish', async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    store.updateSpec('share', { credentials: { secretRef: { name: 'owner' } } });
    store.delete('share');
    await pass();
    expect(status()?.conditions?.[0]).toMatchObject({ reason: 'CredentialsNotFound' });
    expect(status()?.conditions?.[0]?.message).toContain('set spec.deletionPolicy to Retain');
    store.updateSpec('share', { deletionPolicy: 'Retain' });
    await pass();
    expect(store.objects.has('default/share')).toBe(false);
    expect(shared()).toEqual([A, B]);
  });
});
