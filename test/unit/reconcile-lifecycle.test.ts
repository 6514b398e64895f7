// Behaviour table for deletion and the finalizer (ADR 0020, "Deletion and the finalizer"): a finalizer that never
// flips per pass, cleanup by a duplicate of what it exposed itself, the identity that granted, cleanup that records
// its own progress, and a switch to Revoke. Each row says why, and asserts what the cloud holds afterwards.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { FINALIZER, type ImageShareSpec } from '../../src/api/types.ts';
import { operatorIdentityOf } from '../../src/reconcile/identity.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../../src/reconcile/reconcile.ts';
import { CloudError } from '../../src/cloud/port.ts';
import { type FakeCloud, throttled } from '../support/fake-cloud.ts';
import type { FakeStore } from '../support/fake-store.ts';
import { REF as ref, type ReconcileWorld, reconcileWorld, type StaticKey } from '../support/reconcile-world.ts';
import { assertKstatusShape } from '../support/safety.ts';

const A = '1111111111111111';
const B = '2222222222222222';
const X = '9999999999999999';
const Y = '8888888888888888';
const KEY_1 = { accessKeyId: 'LTAIfirstkey000001', accessKeySecret: 'first-secret' };
const KEY_2 = { accessKeyId: 'LTAIsecondkey00002', accessKeySecret: 'second-secret' };

let world: ReconcileWorld;
let store: FakeStore;
let cloud: FakeCloud;
let deps: ReconcileDeps;
let secrets: Map<string, StaticKey>;
/** Every finalizer add or remove (each one is an update event that wakes the object again). */
let finalizerFlips: string[];

beforeEach(() => {
  world = reconcileWorld();
  ({ store, cloud, deps, secrets } = world);
  finalizerFlips = [];
  const add = store.addFinalizer.bind(store);
  const remove = store.removeFinalizer.bind(store);
  store.addFinalizer = async (o) => {
    finalizerFlips.push(`+${o.metadata.name}`);
    return add(o);
  };
  store.removeFinalizer = async (o) => {
    finalizerFlips.push(`-${o.metadata.name}`);
    return remove(o);
  };
});

const spec = (s: Partial<ImageShareSpec> = {}): ImageShareSpec => ({ ...ref, accounts: [A, B], ...s });
const obj = (name = 'share') => store.must('default', name);
const ready = (name = 'share') => obj(name).status?.conditions?.find((c) => c.type === 'Ready');
const abnormal = (name = 'share') => obj(name).status?.conditions?.find((c) => c.type !== 'Ready');
const shared = () => [...cloud.image(ref).accounts.keys()].sort();
const ops = () => cloud.writes().map((c) => (c.accounts ? `${c.op} ${c.accounts.join(',')}` : c.op));
const exists = (name = 'share') => store.objects.has(`default/${name}`);

async function pass(name = 'share'): Promise<ReconcileResult> {
  const r = await reconcile('default', name, deps);
  const o = store.objects.get(`default/${name}`);
  if (o?.status) assertKstatusShape(o.status, o.status.observedGeneration ?? 0);
  return r;
}

/** Passes until the object is gone or `max` passes ran; returns how many ran. */
async function untilGone(max: number, name = 'share'): Promise<number> {
  let n = 0;
  while (exists(name) && n < max) {
    n++;
    world.advance(5_000);
    await pass(name);
  }
  return n;
}

describe('the finalizer under Revoke is stable (no per-pass flip)', () => {
  it('every account unknown to ECS: the finalizer goes on once before the grant and stays; no pass flips it, and the object waits for its resync', async () => {
    // The reported hot loop: the intent added the finalizer, the refused grant removed it, and each flip woke the
    // object again at once. Only new input may start a pass now, so the calls stay at one grant per pass.
    cloud.unknownAccounts.add(A).add(B);
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    const first = await pass();
    expect(finalizerFlips).toEqual(['+share']);
    expect(obj().metadata.finalizers).toEqual([FINALIZER]);
    expect(ready()).toMatchObject({ reason: 'AccountsFailed' });
    expect(abnormal()).toMatchObject({ type: 'Stalled' });
    expect(first).toMatchObject({ result: 'terminal', requeue: { kind: 'after', ms: 600_000 } });
    for (let i = 0; i < 5; i++) await pass();
    expect(finalizerFlips).toEqual(['+share']);
    expect(obj().status?.managedAccounts).toEqual([]);
  });

  it('a publish ECS refuses (agreement not signed) keeps the finalizer too', async () => {
    // The same loop was open to any first exposing write ECS refuses, a publish included.
    store.create('share', spec({ accounts: [], community: true, deletionPolicy: 'Revoke' }));
    const setCommunity = cloud.setCommunity.bind(cloud);
    cloud.setCommunity = async (r, c) => {
      if (c) {
        cloud.calls.push({ op: 'publish' });
        throw new CloudError({
          code: 'PublicImageAgreement.NotSigned',
          kind: 'terminal',
          reason: 'CommunityAgreementNotSigned',
          message: 'The publishing agreement is not signed.',
          accountSpecific: false,
          httpStatus: 403, // a definitive refusal: nothing was published
        });
      }
      return setCommunity(r, c);
    };
    for (let i = 0; i < 4; i++) await pass();
    expect(finalizerFlips).toEqual(['+share']);
    expect(ready()).toMatchObject({ reason: 'CommunityAgreementNotSigned' });
    expect(obj().status?.managedCommunity).toBe(false);
    expect(cloud.image(ref).community).toBe(false);
  });

  it('deleting such an object that owns nothing makes no cloud call and releases the finalizer', async () => {
    // The stable finalizer costs nothing at deletion: with nothing on record there is nothing to undo.
    cloud.unknownAccounts.add(A).add(B);
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    const calls = cloud.calls.length;
    store.delete('share');
    await pass();
    expect(exists()).toBe(false);
    expect(cloud.calls.length).toBe(calls);
  });

  it('the finalizer comes off when the spec stops asking for cleanup: Retain, or Plan mode', async () => {
    // These are the only ways out of it outside deletion: both are new input, and neither can start owning again.
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    expect(obj().metadata.finalizers).toEqual([FINALIZER]);
    store.updateSpec('share', { deletionPolicy: 'Retain' });
    await pass();
    expect(obj().metadata.finalizers ?? []).toEqual([]);
    store.updateSpec('share', { deletionPolicy: 'Revoke' });
    await pass();
    expect(obj().metadata.finalizers).toEqual([FINALIZER]);
    store.updateSpec('share', { mode: 'Plan' });
    await pass();
    expect(obj().metadata.finalizers ?? []).toEqual([]);
    expect(finalizerFlips).toEqual(['+share', '-share', '+share', '-share']);
  });

  it('a switch to Revoke while suspended puts the finalizer on at once for what is already owned', async () => {
    // A pass that stops before the writes (suspended, duplicate, blocked) must not leave owned grants unprotected
    // until the next full pass: a deletion in between would skip cleanup.
    store.create('share', spec());
    await pass();
    expect(obj().metadata.finalizers ?? []).toEqual([]);
    store.updateSpec('share', { deletionPolicy: 'Revoke', suspend: true });
    await pass();
    expect(obj().metadata.finalizers).toEqual([FINALIZER]);
    store.delete('share');
    await untilGone(3);
    expect(shared()).toEqual([]);
  });
});

describe('a switch from Retain to Revoke', () => {
  it('deleted before any pass saw the switch, but held by another finalizer: cleanup still runs', async () => {
    // Without our finalizer the operator cannot hold the object, but while someone else does, it can still undo
    // what the object granted (the policy read is the one at deletion).
    store.create('share', spec());
    await pass();
    expect(shared()).toEqual([A, B]);
    store.updateSpec('share', { deletionPolicy: 'Revoke' });
    obj().metadata.finalizers = ['example.com/hold'];
    store.delete('share');
    await pass();
    expect(shared()).toEqual([]);
    expect(obj().metadata.finalizers).toEqual(['example.com/hold']);
  });
});

describe('a duplicate cleans up what it exposed itself', () => {
  /** `loser` granted `granted` while it believed it owned the image (e.g. applied together with `owner`). */
  function lostOwnership(granted: string[], loserSpec: Partial<ImageShareSpec> = {}) {
    store.create('owner', spec({ sharePolicy: 'Additive' }), { createdAt: '2026-01-01T00:00:00Z' });
    store.create('loser', spec({ accounts: granted, deletionPolicy: 'Revoke', ...loserSpec }), {
      createdAt: '2026-02-01T00:00:00Z',
    });
    const claimants = store.claimants.bind(store);
    return async () => {
      // The owner holds shares first; the loser's pass then ran before the owner was in its cache.
      await pass('owner');
      store.claimants = (r, i) => claimants(r, i).filter((o) => o.metadata.name !== 'owner');
      await pass('loser');
      store.claimants = claimants;
      world.advance(120_000);
      await pass('owner');
      await pass('loser');
      expect(ready('loser')).toMatchObject({ reason: 'DuplicateImageShare' });
    };
  }

  it('Revoke: deleting the loser revokes its own grants and leaves the owner\u2019s', async () => {
    // Before, a deleting non-owner skipped cleanup entirely, so the loser's grants stayed shared for good.
    await lostOwnership([X, Y])();
    expect(shared()).toEqual([A, B, X, Y].sort());
    store.delete('loser');
    await untilGone(3, 'loser');
    expect(shared()).toEqual([A, B]);
  });

  it('Revoke: an account both objects want is left to the owner, even though the loser granted it', async () => {
    // A revoke cannot tell whose grant it undoes; the owner's spec (or record) names the account, so it stays.
    await lostOwnership([A, X])();
    store.delete('loser');
    await untilGone(3, 'loser');
    expect(shared()).toEqual([A, B]);
  });

  it('Revoke: a grant whose answer was lost (a pending write) is revoked too', async () => {
    // A pending grant may have shared the image: it is the loser's own exposure, so deletion undoes it.
    const steps = lostOwnership([X]);
    cloud.loseNextGrantAnswer = true;
    await steps();
    expect(obj('loser').status?.pendingWrites?.map((w) => `${w.action} ${w.account}`)).toContain(`Grant ${X}`);
    store.delete('loser');
    await untilGone(3, 'loser');
    expect(shared()).toEqual([A, B]);
  });

  it('Revoke: a loser that published unpublishes when the owner does not want the image public', async () => {
    // managedCommunity is the loser's own exposure; the owner's community: true makes it the owner's to keep.
    // The owner holds a share first (an object holding shares keeps the image), so the loser stays the duplicate.
    store.create('owner', spec({ accounts: [A] }), { createdAt: '2026-01-01T00:00:00Z' });
    store.create('loser', spec({ accounts: [], community: true, deletionPolicy: 'Revoke' }), {
      createdAt: '2026-02-01T00:00:00Z',
    });
    await pass('owner');
    const claimants = store.claimants.bind(store);
    store.claimants = (r, i) => claimants(r, i).filter((o) => o.metadata.name !== 'owner');
    await pass('loser');
    expect(cloud.image(ref).community).toBe(true);
    store.claimants = claimants;
    await pass('loser');
    expect(ready('loser')).toMatchObject({ reason: 'DuplicateImageShare' });
    store.delete('loser');
    await untilGone(3, 'loser');
    expect(cloud.image(ref).community).toBe(false);
  });

  it('Revoke: a loser that published leaves the image public when the owner wants it public', async () => {
    // The owner's community: true makes the flag the owner's; unpublishing it would undo the owner's spec.
    // The owner held a share first, then its spec moved to community: true before its next pass.
    store.create('owner', spec({ accounts: [A] }), { createdAt: '2026-01-01T00:00:00Z' });
    store.create('loser', spec({ accounts: [], community: true, deletionPolicy: 'Revoke' }), {
      createdAt: '2026-02-01T00:00:00Z',
    });
    await pass('owner');
    store.updateSpec('owner', { accounts: [], community: true });
    const claimants = store.claimants.bind(store);
    store.claimants = (r, i) => claimants(r, i).filter((o) => o.metadata.name !== 'owner');
    await pass('loser');
    store.claimants = claimants;
    await pass('loser');
    expect(obj('loser').status?.managedCommunity).toBe(true);
    store.delete('loser');
    await untilGone(3, 'loser');
    expect(cloud.image(ref).community).toBe(true);
  });

  it('Retain: deleting the loser changes nothing in the cloud', async () => {
    // Retain means the cloud is left as it is, for a duplicate as for an owner.
    await lostOwnership([X], { deletionPolicy: 'Retain' })();
    store.delete('loser');
    await untilGone(3, 'loser');
    expect(shared()).toEqual([A, B, X]);
  });
});

describe('identity at deletion', () => {
  /** A Revoke object granted with KEY_1 through Secret `owner`; then the image disappears from view. */
  async function grantedWithKey1(): Promise<void> {
    secrets.set('default/owner', KEY_1);
    store.create('share', spec({ deletionPolicy: 'Revoke', credentials: { secretRef: { name: 'owner' } } }));
    await pass();
    expect(shared()).toEqual([A, B]);
  }

  it('the identity that granted is on record as a fingerprint, never the access key ID', async () => {
    // Status is readable by anyone who can read the object; the key ID must not be in it.
    await grantedWithKey1();
    const id = obj().status?.grantIdentity ?? '';
    expect(id).toMatch(/^secret:owner:[0-9a-f]{12}$/);
    expect(JSON.stringify(obj().status)).not.toContain(KEY_1.accessKeyId);
  });

  it('a rotated Secret whose new key cannot see the image blocks deletion and says how to finish', async () => {
    // ImageNotFound for another identity proves nothing: the image may still be shared, for the identity that granted.
    await grantedWithKey1();
    secrets.set('default/owner', KEY_2);
    const image = cloud.image(ref);
    cloud.images.clear(); // the new key's account does not own the image
    store.delete('share');
    await pass();
    expect(exists()).toBe(true);
    expect(ready()).toMatchObject({ reason: 'ImageNotFound' });
    expect(ready()?.message).toContain('Restore those credentials');
    expect(ready()?.message).toContain('deletionPolicy to Retain');
    expect(ready()?.message).not.toContain(KEY_2.accessKeyId);
    expect(abnormal()).toMatchObject({ type: 'Stalled' });
    // Restoring the key finishes the cleanup.
    cloud.images.set(`${ref.regionId}/${ref.imageId}`, image);
    secrets.set('default/owner', KEY_1);
    await pass();
    expect(exists()).toBe(false);
    expect(shared()).toEqual([]);
  });

  it('an edited roleArn is another identity too', async () => {
    // The role may belong to another account; its ImageNotFound is not the granting account's.
    store.create('share', spec({ deletionPolicy: 'Revoke', credentials: { roleArn: 'acs:ram::1:role/a' } }));
    await pass();
    store.updateSpec('share', { credentials: { roleArn: 'acs:ram::2:role/b' } });
    cloud.images.clear();
    store.delete('share');
    await pass();
    expect(exists()).toBe(true);
    expect(ready()?.message).toContain('role:acs:ram::1:role/a');
  });

  it('a reinstalled operator with another identity of its own (default credentials) blocks too', async () => {
    // Objects without spec.credentials write as the operator; its identity comes from the environment it runs in.
    deps.operatorIdentity = operatorIdentityOf({ ALIBABA_CLOUD_ACCESS_KEY_ID: KEY_1.accessKeyId });
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    expect(obj().status?.grantIdentity).toMatch(/^default:key:[0-9a-f]{12}$/);
    deps.operatorIdentity = operatorIdentityOf({
      ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::2:role/other',
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: 'acs:ram::2:oidc-provider/ack',
    });
    cloud.images.clear();
    store.delete('share');
    await pass();
    expect(exists()).toBe(true);
    expect(ready()?.message).toContain('default:role:acs:ram::2:role/other');
  });

  it('with the identity that granted, ImageNotFound means the image is gone: deletion finishes', async () => {
    // A deleted image shares nothing; waiting would only hold the object forever.
    await grantedWithKey1();
    cloud.images.clear();
    store.delete('share');
    await pass();
    expect(exists()).toBe(false);
  });
});

describe('cleanup records its own progress', () => {
  const fifty = Array.from({ length: 50 }, (_, i) => String(5000000000000000 + i));

  async function sharedWithFifty(): Promise<void> {
    store.create('share', spec({ accounts: fifty, deletionPolicy: 'Revoke' }));
    for (let i = 0; i < 6; i++) {
      world.advance(120_000);
      await pass();
    }
    expect(shared()).toEqual(fifty);
    expect(obj().status?.managedAccounts).toEqual(fifty);
  }

  it('a Revoke of 50 accounts that fails in batch 3 does not re-send batches 1-2 on the next pass', async () => {
    // Without a record of what ECS accepted, every retry starts from the first batch again.
    await sharedWithFifty();
    const before = cloud.writes().length;
    const revoke = cloud.revoke.bind(cloud);
    let n = 0;
    cloud.revoke = async (r, a) => {
      if (++n !== 3) return revoke(r, a);
      cloud.calls.push({ op: 'revoke', accounts: [...a] });
      return { results: [], error: throttled() };
    };
    store.delete('share');
    await pass();
    expect(exists()).toBe(true);
    expect(obj().status?.managedAccounts).toEqual(fifty.slice(20));
    await pass();
    expect(exists()).toBe(false);
    const revoked = cloud
      .writes()
      .slice(before)
      .filter((c) => c.op === 'revoke')
      .flatMap((c) => c.accounts ?? []);
    // Batch 3 was refused whole (throttled), so it is the only one sent twice.
    expect(revoked.sort()).toEqual([...fifty, ...fifty.slice(20, 30)].sort());
    expect(shared()).toEqual([]);
  });

  it('under sustained throttling that lets one batch through per pass, deletion still finishes (no livelock)', async () => {
    // A namespace-wide deletion shares one rate budget: each object may get one call per pass, and must progress.
    await sharedWithFifty();
    const revoke = cloud.revoke.bind(cloud);
    let allowed = 0;
    cloud.revoke = async (r, a) => (allowed-- > 0 ? revoke(r, a) : { results: [], error: throttled() });
    store.delete('share');
    let passes = 0;
    while (exists() && passes < 20) {
      allowed = 1;
      world.advance(5_000);
      await pass();
      passes++;
    }
    expect(exists()).toBe(false);
    expect(passes).toBe(5);
    expect(shared()).toEqual([]);
  });

  it('the recorded progress survives a lagging read: an accepted revoke is not sent again inside the window', async () => {
    // The read right after a revoke may still show the account; the pending revoke on record outweighs it.
    await sharedWithFifty();
    cloud.freezeReads(ref);
    const revoke = cloud.revoke.bind(cloud);
    let n = 0;
    cloud.revoke = async (r, a) => (++n === 2 ? { results: [], error: throttled() } : revoke(r, a));
    store.delete('share');
    await pass();
    const afterFirst = ops().length;
    await pass();
    expect(ops().slice(afterFirst)[0]).toBe(`revoke ${fifty.slice(10, 20).join(',')}`);
    cloud.thawReads();
  });
});

describe('messages never ask for an immutable field to change', () => {
  it('a cleanup blocked by an unknown image names the credentials and Retain, not regionId or imageId', async () => {
    // regionId and imageId cannot be edited (CRD rule), so a message asking for it would be a dead end.
    secrets.set('default/owner', KEY_1);
    store.create('share', spec({ deletionPolicy: 'Revoke', credentials: { secretRef: { name: 'owner' } } }));
    await pass();
    secrets.set('default/owner', KEY_2);
    cloud.images.clear();
    store.delete('share');
    await pass();
    expect(ready()?.message).not.toMatch(/spec\.(regionId|imageId)/);
  });
});
