// Behaviour table for a second writer of one object's status (issue 14 item 5): a deposed leader's late write and
// an overlapping installation. Status writes are conditioned on the resourceVersion the pass read; on a conflict
// the pass re-reads and keeps what the other writer recorded. Each row says why, and asserts the ownership record
// and what the cloud holds.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec, ImageShareStatus } from '../../src/api/types.ts';
import {
  type ImageShareStore,
  type ReconcileDeps,
  reconcile,
  type StatusWrite,
} from '../../src/reconcile/reconcile.ts';
import type { FakeCloud } from '../support/fake-cloud.ts';
import { FakeStore } from '../support/fake-store.ts';
import { REF as ref, type ReconcileWorld, reconcileWorld } from '../support/reconcile-world.ts';

const A = '1111111111111111';
const B = '2222222222222222';

const stats = { conflicts: 0 };

/** `s` plus the apiserver's resourceVersion precondition on status writes (409 → 'conflict'). */
function versioned(s: FakeStore, get: ImageShareStore['get'] = (ns, name) => s.get(ns, name)): ImageShareStore {
  return {
    get,
    addFinalizer: (o) => s.addFinalizer(o),
    removeFinalizer: (o) => s.removeFinalizer(o),
    claimants: (regionId, imageId) => s.claimants(regionId, imageId),
    async patchStatus(obj: ImageShare, status: ImageShareStatus): Promise<StatusWrite> {
      const cur = s.objects.get(`${obj.metadata.namespace}/${obj.metadata.name}`);
      if (
        cur &&
        cur.metadata.uid === obj.metadata.uid &&
        cur.metadata.resourceVersion !== obj.metadata.resourceVersion
      ) {
        stats.conflicts++;
        return 'conflict';
      }
      if ((await s.patchStatus(obj, status)) === 'gone') return 'gone';
      return { resourceVersion: s.must(obj.metadata.namespace, obj.metadata.name).metadata.resourceVersion ?? '' };
    },
  };
}

let world: ReconcileWorld;
let store: FakeStore;
let cloud: FakeCloud;
let deps: ReconcileDeps;

beforeEach(() => {
  store = new FakeStore();
  stats.conflicts = 0;
  world = reconcileWorld({ store: versioned(store) }, { store });
  ({ cloud, deps } = world);
});

const spec = (s: Partial<ImageShareSpec> = {}): ImageShareSpec => ({ ...ref, accounts: [A], ...s });
const status = () => store.must('default', 'share').status;
const shared = () => [...cloud.image(ref).accounts.keys()].sort();
const ops = () => cloud.writes().map((c) => (c.accounts ? `${c.op} ${c.accounts.join(',')}` : c.op));
const pass = (d: ReconcileDeps = deps) => reconcile('default', 'share', d);

/** deps whose pass reads `stale` (what a deposed leader read before the new leader wrote); later reads are fresh. */
function readingStale(stale: ImageShare): ReconcileDeps {
  let first = true;
  const get: ImageShareStore['get'] = async (ns, name) => {
    if (!first) return store.get(ns, name);
    first = false;
    return structuredClone(stale);
  };
  return { ...deps, store: versioned(store, get) };
}

describe('a late status write from a second writer', () => {
  it("a deposed leader's write, computed from a read before the new leader granted, keeps the grant on record", async () => {
    store.create('share', spec({ sharePolicy: 'Additive', deletionPolicy: 'Revoke' }));
    const stale = (await store.get('default', 'share')) as ImageShare;
    await pass(); // the new leader grants A and records it
    expect(status()?.managedAccounts).toEqual([A]);
    world.advance(2_000);
    await pass(readingStale(stale)); // the old leader's pass: A is shared, but not by it as far as it read
    expect(stats.conflicts).toBeGreaterThan(0);
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
    expect(stats.conflicts).toBe(1);
    expect(status()?.managedAccounts).toEqual([A]);
    expect(status()?.pendingWrites?.map((w) => `${w.action} ${w.account}`)).toEqual([`Grant ${A}`]);
    expect(status()?.accounts?.find((a) => a.id === B)).toMatchObject({ state: 'Failed', reason: 'AccountNotFound' });
  });

  it("this pass's own writes are not conflicts: the intent write's new version is carried to the final write", async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    expect(stats.conflicts).toBe(0);
    expect(status()?.managedAccounts).toEqual([A]);
  });
});

describe('two installations whose --namespaces overlap', () => {
  const as = (installation: string, d: ReconcileDeps = deps): ReconcileDeps => ({ ...d, installation });

  it('every status records the installation that wrote it', async () => {
    store.create('share', spec());
    await pass(as('one'));
    expect(status()?.installation).toBe('one');
  });

  it('an object whose status names another installation is left alone: no cloud call, no status write', async () => {
    store.create('share', spec());
    await pass(as('one'));
    store.updateSpec('share', { accounts: [A, B] });
    const calls = cloud.calls.length;
    const before = structuredClone(status());
    const r = await pass(as('two'));
    expect(r.reason).toBe('OtherInstallation');
    expect(cloud.calls.length).toBe(calls);
    expect(status()).toEqual(before);
  });

  it('both start on a new object at once: the one whose status write comes second stops before any grant', async () => {
    store.create('share', spec({ accounts: [A, B] }));
    const stale = (await store.get('default', 'share')) as ImageShare;
    const observe = cloud.observe.bind(cloud);
    let once = true;
    cloud.observe = async (r) => {
      const seen = await observe(r); // installation two has read the cloud…
      if (once) {
        once = false;
        await pass(as('one')); // …when installation one runs its whole pass
      }
      return seen;
    };
    const r = await pass(as('two', readingStale(stale)));
    expect(r.reason).toBe('OtherInstallation');
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(status()?.installation).toBe('one');
    expect(status()?.managedAccounts).toEqual([A, B]);
  });
});

describe('two installations whose --namespaces overlap, deletionPolicy Revoke', () => {
  it('adding the finalizer re-reads the object: the other installation’s status found there stops the pass before any grant', async () => {
    store.create('share', spec({ accounts: [A, B], deletionPolicy: 'Revoke' }));
    const stale = (await store.get('default', 'share')) as ImageShare;
    const observe = cloud.observe.bind(cloud);
    let once = true;
    cloud.observe = async (r) => {
      const seen = await observe(r);
      if (once) {
        once = false;
        await pass({ ...deps, installation: 'one' });
      }
      return seen;
    };
    const r = await pass({ ...readingStale(stale), installation: 'two' });
    expect(r.reason).toBe('OtherInstallation');
    expect(ops()).toEqual([`grant ${A},${B}`]);
    expect(status()?.installation).toBe('one');
  });
});
