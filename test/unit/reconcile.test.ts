// Behaviour table for one ImageShare's reconcile passes, against an in-memory store and cloud. Each row states
// why, and asserts the cloud writes made, the status written and the events emitted. Every status seen is run
// through the kstatus shape check.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import type { EventSpec } from '../../src/reconcile/events.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../../src/reconcile/reconcile.ts';
import { type FakeCloud, terminal, throttled } from '../support/fake-cloud.ts';
import type { FakeStore } from '../support/fake-store.ts';
import { REF as ref, type ReconcileWorld, reconcileWorld } from '../support/reconcile-world.ts';
import { assertKstatusShape } from '../support/safety.ts';

const A = '1111111111111111';
const B = '2222222222222222';
const X = '9999999999999999';

let world: ReconcileWorld;
let store: FakeStore;
let cloud: FakeCloud;
let events: EventSpec[];
let deps: ReconcileDeps;

beforeEach(() => {
  // Each row adds the image it needs (or none); SharedTime comes from the cloud's own counter.
  world = reconcileWorld({}, { images: [], cloudOnClock: false });
  ({ store, cloud, events, deps } = world);
});

function spec(s: Partial<ImageShareSpec> = {}): ImageShareSpec {
  return { ...ref, accounts: [A, B], ...s };
}

async function pass(name = 'share', namespace = 'default'): Promise<ReconcileResult> {
  const r = await reconcile(namespace, name, deps);
  const obj = store.objects.get(`${namespace}/${name}`);
  if (obj?.status) assertKstatusShape(obj.status, obj.metadata.generation ?? 0);
  return r;
}

const obj = (name = 'share'): ImageShare => store.must('default', name);
const ready = (name = 'share') => obj(name).status?.conditions?.find((c) => c.type === 'Ready');
const abnormal = (name = 'share') => obj(name).status?.conditions?.find((c) => c.type !== 'Ready');
const ops = () => cloud.writes().map((c) => (c.accounts ? `${c.op} ${c.accounts.join(',')}` : c.op));

describe('reconcile: create and steady state', () => {
  it('the first pass records the grants as pending in status before any write, then grants in one call (no finalizer under Retain)', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    const seen: Array<string[] | undefined> = [];
    const write = store.patchStatus.bind(store);
    store.patchStatus = async (o, st) => {
      seen.push(st.pendingWrites?.map((w) => `${w.action} ${w.account}`));
      expect(cloud.writes()).toEqual([]); // the intent is on record before ECS is called
      store.patchStatus = write;
      return write(o, st);
    };
    await pass();
    expect(seen).toEqual([[`Grant ${A}`, `Grant ${B}`]]);
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(store.statusWrites).toBe(2);
    expect(obj().metadata.finalizers ?? []).toEqual([]);
    expect(cloud.calls.filter((c) => c.op === 'observe')).toHaveLength(1);
  });

  it('under deletionPolicy Revoke the finalizer goes on before the first grant', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    const grant = cloud.grant.bind(cloud);
    cloud.grant = async (r, a) => {
      expect(obj().metadata.finalizers).toEqual(['ecs.alicloud.dev/cleanup']);
      return grant(r, a);
    };
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
  });

  it('then shares exactly the spec accounts in one call, reports Synced and emits Granted', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    const r = await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced', message: 'Shared with 2 accounts.' });
    expect(abnormal()).toBeUndefined();
    expect(obj().status).toMatchObject({
      sharedAccounts: [A, B],
      managedAccounts: [A, B],
      community: false,
      plan: { grant: [], revoke: [] },
    });
    expect(obj().status?.accounts?.map((a) => a.state)).toEqual(['Shared', 'Shared']);
    expect(events.map((e) => e.reason)).toEqual(['Granted']);
    expect(r).toMatchObject({ result: 'success', requeue: { kind: 'after', ms: 600_000 } });
  });

  it('the first resync confirms the pending writes (one status write); later resyncs write nothing and keep lastTransitionTime', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    await pass();
    expect(obj().status?.pendingWrites).toHaveLength(2);
    world.advance(10 * 60_000); // 12:10
    expect((await pass()).statusWritten).toBe(true);
    expect(obj().status?.pendingWrites).toEqual([]);
    const writes = store.statusWrites;
    const ltt = ready()?.lastTransitionTime;
    world.advance(50 * 60_000); // 13:00
    const r = await pass();
    expect(r.statusWritten).toBe(false);
    expect(store.statusWrites).toBe(writes);
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(ready()?.lastTransitionTime).toBe(ltt);
  });

  it('a spec edit converges with the minimum calls: revoke the removed, grant the added', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    await pass();
    store.updateSpec('share', { accounts: [A, X] });
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`, `revoke ${B}`, `grant ${X}`]);
    expect(obj().status?.managedAccounts).toEqual([A, X]);
    expect(obj().status?.observedGeneration).toBe(2);
  });
});

describe('reconcile: drift', () => {
  it('Authoritative reverts an out-of-band share and says so with DriftCorrected', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    await pass();
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    await pass();
    expect(ops().at(-1)).toBe(`revoke ${X}`);
    expect(events.map((e) => e.reason)).toContain('DriftCorrected');
    expect([...cloud.image(ref).accounts.keys()].sort()).toEqual([A, B]);
  });

  it('Additive leaves an out-of-band share alone and reports it', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ sharePolicy: 'Additive' }));
    await pass();
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(events.map((e) => e.reason)).toContain('DriftDetected');
    expect(ready()?.message).toContain('1 of them shared outside this object');
    expect(obj().status?.managedAccounts).toEqual([A, B]);
  });

  it('Additive re-grants an account someone revoked out of band', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ sharePolicy: 'Additive' }));
    await pass();
    cloud.image(ref).accounts.delete(B);
    await pass();
    expect(ops()).toEqual([`grant ${A},${B}`]); // inside the confirmation window the accepted grant is believed
    world.advance(10 * 60_000); // 12:10
    await pass();
    expect(ops().at(-1)).toBe(`grant ${B}`);
  });
});

describe('reconcile: failures become reasons', () => {
  it('one unknown account is isolated: the others are shared and the object is Stalled with AccountsFailed', async () => {
    cloud.addImage(ref);
    cloud.unknownAccounts.add(X);
    store.create('share', spec({ accounts: [A, B, X] }));
    const r = await pass();
    expect([...cloud.image(ref).accounts.keys()].sort()).toEqual([A, B]);
    expect(ready()).toMatchObject({ status: 'False', reason: 'AccountsFailed' });
    expect(abnormal()).toMatchObject({ type: 'Stalled', reason: 'AccountsFailed' });
    expect(obj().status?.accounts?.find((a) => a.id === X)).toMatchObject({
      state: 'Failed',
      reason: 'AccountNotFound',
    });
    expect(r.result).toBe('terminal');
    expect(events.filter((e) => e.type === 'Warning').map((e) => e.reason)).toEqual(['AccountsFailed']);
  });

  it('a terminal error on observe is Stalled with its reason and waits for the resync, not a hot retry', async () => {
    store.create('share', spec());
    const r = await pass();
    expect(ready()).toMatchObject({ status: 'False', reason: 'ImageNotFound' });
    expect(abnormal()).toMatchObject({ type: 'Stalled', reason: 'ImageNotFound' });
    expect(r).toMatchObject({ result: 'terminal', requeue: { kind: 'after', ms: 600_000 } });
  });

  it('throttling is transient: Reconciling with the reason, and the retry waits retryAfter', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    await pass();
    cloud.failNext.push(throttled(1500));
    const r = await pass();
    expect(ready()).toMatchObject({ status: 'False', reason: 'Throttled' });
    expect(abnormal()).toMatchObject({ type: 'Reconciling', reason: 'Throttled' });
    expect(r.requeue).toEqual({ kind: 'after', ms: 1500 });
    await pass();
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('accounts a transient write error left undone are Pending, not Failed: a retry will do them', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    const realGrant = cloud.grant.bind(cloud);
    cloud.grant = async () => {
      cloud.grant = realGrant;
      throw throttled();
    };
    await pass();
    expect(ready()).toMatchObject({ reason: 'Throttled' });
    expect(obj().status?.accounts?.map((a) => a.state)).toEqual(['Pending', 'Pending']);
  });

  it('a transient error without retryAfter asks the queue for backoff', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    await pass();
    cloud.failNext.push(throttled());
    expect((await pass()).requeue).toEqual({ kind: 'backoff' });
  });

  it('a terminal error in the middle of a plan stops the plan and records what was done', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ accounts: Array.from({ length: 12 }, (_, i) => String(3000000000000000 + i)) }));
    // observe ok, first grant batch ok, second batch fails terminally.
    const realGrant = cloud.grant.bind(cloud);
    let n = 0;
    cloud.grant = async (r, accts) => {
      if (++n === 2) throw terminal('QuotaExceed.ShareImage', 'ShareImageQuotaExceeded');
      return realGrant(r, accts);
    };
    await pass();
    expect(ready()).toMatchObject({ reason: 'ShareImageQuotaExceeded' });
    expect(obj().status?.managedAccounts).toHaveLength(10);
    const notShared = obj().status?.accounts?.filter((a) => a.state !== 'Shared');
    expect(notShared?.map((a) => [a.state, a.reason])).toEqual([
      ['Failed', 'ShareImageQuotaExceeded'],
      ['Failed', 'ShareImageQuotaExceeded'],
    ]);
  });

  it('a missing credentials Secret is Stalled with CredentialsNotFound and makes no cloud call', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ credentials: { secretRef: { name: 'owner' } } }));
    await pass();
    expect(ready()).toMatchObject({ reason: 'CredentialsNotFound', message: 'Secret default/owner was not found.' });
    expect(cloud.calls).toEqual([]);
  });
});

describe('reconcile: community', () => {
  it('publishing revokes existing shares first (Authoritative, no accounts) and publishes last', async () => {
    cloud.addImage(ref, { accounts: [X] });
    store.create('share', spec({ accounts: [], community: true }));
    await pass();
    expect(ops()).toEqual([`revoke ${X}`, 'publish']);
    expect(obj().status?.managedCommunity).toBe(true);
    expect(events.map((e) => e.reason)).toEqual(['Revoked', 'Published']);
  });

  it('community: false on a community image unpublishes before granting', async () => {
    cloud.addImage(ref, { community: true });
    store.create('share', spec({ community: false }));
    await pass();
    expect(ops()).toEqual(['unpublish', `grant ${A},${B}`]);
  });

  it('grants to a community image the spec does not unpublish are refused up front with ImageIsCommunity', async () => {
    cloud.addImage(ref, { community: true });
    store.create('share', spec());
    await pass();
    expect(ops()).toEqual([]);
    expect(ready()).toMatchObject({ reason: 'ImageIsCommunity' });
    expect(abnormal()?.type).toBe('Stalled');
  });
});

describe('reconcile: modes and ownership', () => {
  it('Plan mode never writes and fills status.plan with the exact operations', async () => {
    cloud.addImage(ref, { accounts: [X] });
    store.create('share', spec({ mode: 'Plan', community: false }));
    await pass();
    expect(cloud.writes()).toEqual([]);
    expect(obj().status?.plan).toEqual({ grant: [A, B], revoke: [X] });
    expect(ready()).toMatchObject({
      status: 'False',
      reason: 'PlanPending',
      message: 'Plan mode: Apply would revoke 1 account, grant 2 accounts; nothing was written.',
    });
    expect(abnormal()).toBeUndefined();
  });

  it('Plan mode with nothing to do is Ready with PlanInSync', async () => {
    cloud.addImage(ref, { accounts: [A, B] });
    store.create('share', spec({ mode: 'Plan' }));
    await pass();
    expect(ready()).toMatchObject({ status: 'True', reason: 'PlanInSync' });
  });

  it('suspend stops all cloud access and says so', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ suspend: true }));
    const r = await pass();
    expect(cloud.calls).toEqual([]);
    expect(ready()).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(r.requeue).toEqual({ kind: 'none' });
  });

  it('a second ImageShare for the same image is Stalled with DuplicateImageShare naming the older one', async () => {
    cloud.addImage(ref);
    store.create('old', spec(), { createdAt: '2026-01-01T00:00:00Z' });
    store.create('new', spec({ accounts: [X] }), { createdAt: '2026-02-01T00:00:00Z' });
    await pass('new');
    expect(cloud.calls).toEqual([]);
    expect(ready('new')).toMatchObject({ reason: 'DuplicateImageShare' });
    expect(ready('new')?.message).toContain('default/old');
    await pass('old');
    expect(ready('old')).toMatchObject({ reason: 'Synced' });
  });
});

describe('reconcile: deletion', () => {
  it('Retain releases the finalizer and leaves the cloud as it is', async () => {
    cloud.addImage(ref);
    store.create('share', spec());
    await pass();
    store.delete('share');
    await pass();
    expect(store.objects.has('default/share')).toBe(false);
    expect([...cloud.image(ref).accounts.keys()].sort()).toEqual([A, B]);
  });

  it('Revoke removes only what the object manages, then releases the finalizer', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ sharePolicy: 'Additive', deletionPolicy: 'Revoke' }));
    await pass();
    cloud.image(ref).accounts.set(X, '2026-01-01T00:00:00Z');
    store.delete('share');
    await pass();
    expect(store.objects.has('default/share')).toBe(false);
    expect([...cloud.image(ref).accounts.keys()]).toEqual([X]);
  });

  it('Revoke keeps the finalizer and reports the error when the cloud fails, then finishes on retry', async () => {
    cloud.addImage(ref);
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    store.delete('share');
    cloud.failNext.push(throttled());
    const r = await pass();
    expect(r.requeue).toEqual({ kind: 'backoff' });
    expect(store.objects.has('default/share')).toBe(true);
    await pass();
    expect(store.objects.has('default/share')).toBe(false);
    expect(cloud.image(ref).accounts.size).toBe(0);
  });

  it("a duplicate being deleted never touches the owner's shares", async () => {
    cloud.addImage(ref);
    store.create('old', spec(), { createdAt: '2026-01-01T00:00:00Z' });
    store.create('new', spec({ deletionPolicy: 'Revoke' }), { createdAt: '2026-02-01T00:00:00Z' });
    await pass('old');
    await pass('new');
    store.delete('new');
    await pass('new');
    expect(store.objects.has('default/new')).toBe(false);
    expect(cloud.image(ref).accounts.size).toBe(2);
  });
});
