// Behaviour table for one image, one owner when siblings are applied together (issue 14 item 4): the cache that
// decides ownership may not have seen a sibling yet, and siblings applied together share a creation second. Each
// row says why, and asserts what the cloud holds and the status.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import { type ReconcileDeps, reconcile } from '../../src/reconcile/reconcile.ts';
import type { FakeCloud } from '../support/fake-cloud.ts';
import { FakeStore } from '../support/fake-store.ts';
import { REF as ref, reconcileWorld } from '../support/reconcile-world.ts';

const A = '1111111111111111';
const B = '2222222222222222';
const SAME_SECOND = '2026-11-28T12:00:00Z';

/** A store whose informer cache has seen only the keys in `cached`; listClaimants is the fresh LIST. */
class LaggingCacheStore extends FakeStore {
  readonly cached = new Set<string>();
  lists = 0;

  override claimants(regionId: string, imageId: string): ImageShare[] {
    return super
      .claimants(regionId, imageId)
      .filter((o) => this.cached.has(`${o.metadata.namespace}/${o.metadata.name}`));
  }

  async listClaimants(regionId: string, imageId: string): Promise<ImageShare[]> {
    this.lists++;
    return super.claimants(regionId, imageId);
  }
}

let store: LaggingCacheStore;
let cloud: FakeCloud;
let deps: ReconcileDeps;

beforeEach(() => {
  // Five seconds after the siblings' creation second; SharedTime comes from the cloud's own counter.
  store = new LaggingCacheStore();
  ({ cloud, deps } = reconcileWorld({}, { store, start: Date.parse('2026-11-28T12:00:05Z'), cloudOnClock: false }));
});

const spec = (accounts: string[], s: Partial<ImageShareSpec> = {}): ImageShareSpec => ({
  ...ref,
  accounts,
  sharePolicy: 'Additive',
  deletionPolicy: 'Revoke',
  ...s,
});
const shared = () => [...cloud.image(ref).accounts.keys()].sort();
const reasonOf = (ns: string) => store.must(ns, 'golden').status?.conditions?.find((c) => c.type === 'Ready')?.reason;
const pass = (ns: string) => reconcile(ns, 'golden', deps);

describe('siblings applied together', () => {
  it('the younger one, whose cache has not seen the older sibling yet, writes nothing and is Stalled/DuplicateImageShare', async () => {
    store.create('golden', spec([A]), { namespace: 'team-a', createdAt: '2026-11-28T12:00:00Z' });
    store.create('golden', spec([B]), { namespace: 'team-b', createdAt: '2026-11-28T12:00:01Z' });
    store.cached.add('team-b/golden'); // the team-b watch delivered its object before team-a's
    await pass('team-b');
    expect(shared()).toEqual([]);
    expect(reasonOf('team-b')).toBe('DuplicateImageShare');
    store.cached.add('team-a/golden');
    await pass('team-a');
    expect(shared()).toEqual([A]);
  });

  it('Authoritative too: the younger one never revokes what its older sibling shared', async () => {
    store.create('golden', spec([A], { sharePolicy: 'Authoritative' }), {
      namespace: 'team-a',
      createdAt: '2026-11-28T12:00:00Z',
    });
    store.cached.add('team-a/golden');
    await pass('team-a');
    store.create('golden', spec([B], { sharePolicy: 'Authoritative' }), {
      namespace: 'team-b',
      createdAt: '2026-11-28T12:00:01Z',
    });
    store.cached.clear();
    store.cached.add('team-b/golden');
    await pass('team-b');
    expect(shared()).toEqual([A]);
    expect(cloud.writes().map((c) => c.op)).toEqual(['grant']);
  });

  it('in one creation second, the sibling that already holds shares stays the owner, though the other sorts first by name', async () => {
    // team-b was created first and granted before team-a existed; team-a sorts first, and the second is the same.
    store.create('golden', spec([B]), { namespace: 'team-b', createdAt: SAME_SECOND });
    store.cached.add('team-b/golden');
    await pass('team-b');
    expect(shared()).toEqual([B]);
    store.create('golden', spec([A]), { namespace: 'team-a', createdAt: SAME_SECOND });
    store.cached.add('team-a/golden');
    await pass('team-a');
    await pass('team-b');
    expect(shared()).toEqual([B]);
    expect(reasonOf('team-a')).toBe('DuplicateImageShare');
    expect(reasonOf('team-b')).toBe('Synced');
  });

  it('the fresh LIST is only for the first write of an object that holds nothing: an owner in steady state makes none', async () => {
    store.create('golden', spec([A]), { namespace: 'team-a' });
    store.cached.add('team-a/golden');
    await pass('team-a');
    expect(store.lists).toBe(1);
    store.updateSpec('golden', { accounts: [A, B] }, 'team-a');
    await pass('team-a');
    await pass('team-a');
    expect(store.lists).toBe(1);
    expect(shared()).toEqual([A, B]);
  });
});
