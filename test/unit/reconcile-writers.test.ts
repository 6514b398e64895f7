// Behaviour table for a second writer of one object's status (issue 14 item 5): a deposed leader's late write and
// an overlapping installation. Status writes are conditioned on the resourceVersion the pass read; on a conflict
// the pass re-reads and keeps what the other writer recorded. Each row says why, and asserts the ownership record
// and what the cloud holds.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec, ImageShareStatus } from '../../src/api/types.ts';
import { type ReconcileDeps, reconcile, type StatusWrite } from '../../src/reconcile/reconcile.ts';
import { FakeCloud } from '../support/fake-cloud.ts';
import { FakeStore } from '../support/fake-store.ts';

const ref = { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' };
const A = '1111111111111111';
const B = '2222222222222222';
const T0 = Date.parse('2026-11-28T12:00:00Z');

/** FakeStore plus the apiserver's resourceVersion precondition on status writes (409 → 'conflict'). */
class VersionedStore extends FakeStore {
  readonly stats = { conflicts: 0 };

  override async patchStatus(obj: ImageShare, status: ImageShareStatus): Promise<StatusWrite> {
    const cur = this.objects.get(`${obj.metadata.namespace}/${obj.metadata.name}`);
    if (cur && cur.metadata.uid === obj.metadata.uid && cur.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      this.stats.conflicts++;
      return 'conflict';
    }
    if ((await super.patchStatus(obj, status)) === 'gone') return 'gone';
    return { resourceVersion: this.must(obj.metadata.namespace, obj.metadata.name).metadata.resourceVersion ?? '' };
  }
}

let store: VersionedStore;
let cloud: FakeCloud;
let deps: ReconcileDeps;
let clockMs: number;

beforeEach(() => {
  store = new VersionedStore();
  cloud = new FakeCloud();
  clockMs = T0;
  cloud.now = () => clockMs;
  cloud.addImage(ref);
  deps = {
    store,
    cloud,
    emit: () => undefined,
    now: () => new Date(clockMs),
    random: () => 0,
    defaultResyncMs: 600_000,
    readSecretCredentials: async () => ({ ok: false, message: 'unused' }),
  };
});

const spec = (s: Partial<ImageShareSpec> = {}): ImageShareSpec => ({ ...ref, accounts: [A], ...s });
const status = () => store.must('default', 'share').status;
const shared = () => [...cloud.image(ref).accounts.keys()].sort();
const pass = (d: ReconcileDeps = deps) => reconcile('default', 'share', d);

/** deps whose pass reads `stale` (what a deposed leader read before the new leader wrote); later reads are fresh. */
function readingStale(stale: ImageShare): ReconcileDeps {
  let first = true;
  const get: FakeStore['get'] = async (ns, name) => {
    if (!first) return store.get(ns, name);
    first = false;
    return structuredClone(stale);
  };
  return { ...deps, store: Object.assign(Object.create(store) as VersionedStore, { get }) };
}

describe('a late status write from a second writer', () => {
  it("a deposed leader's write, computed from a read before the new leader granted, keeps the grant on record", async () => {
    store.create('share', spec({ sharePolicy: 'Additive', deletionPolicy: 'Revoke' }));
    const stale = (await store.get('default', 'share')) as ImageShare;
    await pass(); // the new leader grants A and records it
    expect(status()?.managedAccounts).toEqual([A]);
    clockMs += 2_000;
    await pass(readingStale(stale)); // the old leader's pass: A is shared, but not by it as far as it read
    expect(store.stats.conflicts).toBeGreaterThan(0);
    expect(status()?.managedAccounts).toEqual([A]);
    store.delete('share'); // Revoke deletion still cleans up what the new leader granted
    await pass();
    expect(shared()).toEqual([]);
  });

  it('a label written during the pass is a conflict too, but merges nothing back: a refused grant stays forgotten', async () => {
    store.create('share', spec({ accounts: [A, B], sharePolicy: 'Additive' }));
    cloud.unknownAccounts.add(B);
    const grant = cloud.grant.bind(cloud);
    cloud.grant = async (r, a) => {
      store.touch('share'); // Argo CD adds a label while the grant is in flight
      return grant(r, a);
    };
    await pass();
    expect(store.stats.conflicts).toBe(1);
    expect(status()?.managedAccounts).toEqual([A]);
    expect(status()?.pendingWrites?.map((w) => `${w.action} ${w.account}`)).toEqual([`Grant ${A}`]);
    expect(status()?.accounts?.find((a) => a.id === B)).toMatchObject({ state: 'Failed', reason: 'AccountNotFound' });
  });

  it("this pass's own writes are not conflicts: the intent write's new version is carried to the final write", async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    expect(store.stats.conflicts).toBe(0);
    expect(status()?.managedAccounts).toEqual([A]);
  });
});
