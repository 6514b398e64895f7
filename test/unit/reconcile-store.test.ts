import { describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareStatus } from '../../src/api/types.ts';
import type { ImageShareClient } from '../../src/kube/imageshare-client.ts';
import { reconcileStore, type StoreCache } from '../../src/kube/reconcile-store.ts';

// The store reads from the informer cache instead of a fresh GET (issue 19), but never from a cache older than its
// own last write, and a conflicting write makes the next read fresh. Pure logic over a fake client and cache.

const object = (rv: string, status: ImageShareStatus = {}, uid = 'u-1'): ImageShare => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name: 'a', namespace: 'ns', uid, resourceVersion: rv, generation: 1 },
  spec: { regionId: 'cn-hangzhou', imageId: 'm-1', accounts: ['1234567890123456'] },
  status,
});

function world(cached: ImageShare | undefined, echo: 'before' | 'after' | 'never' = 'after') {
  const calls: string[] = [];
  let server: ImageShare | null = cached ?? null;
  let patchAnswer: 'conflict' | undefined;
  let deliver = (_obj: ImageShare): void => undefined;
  const listeners: Array<(key: string, obj: ImageShare) => void> = [];
  const cache: StoreCache & { current: ImageShare | undefined } = {
    current: cached,
    get: (key: string) => (key === 'ns/a' ? cache.current : undefined),
    onStored: (l: (key: string, obj: ImageShare) => void) => {
      listeners.push(l);
    },
  };
  const client = {
    async get() {
      calls.push('GET');
      return server;
    },
    async patchStatusIfUnchanged(obj: ImageShare, status: ImageShareStatus) {
      calls.push(`PATCH@${obj.metadata.resourceVersion}`);
      if (patchAnswer === 'conflict') return 'conflict';
      const rv = String(Number(server?.metadata.resourceVersion ?? '0') + 1);
      server = { ...obj, metadata: { ...obj.metadata, resourceVersion: rv }, status };
      if (echo === 'before') deliver(server); // the watch event arrives before the PATCH's answer
      return server;
    },
    async listClaimants() {
      return [];
    },
  } as unknown as ImageShareClient;
  const store = reconcileStore(client, () => [], [], cache);
  deliver = (obj: ImageShare) => {
    cache.current = obj;
    for (const l of listeners) l('ns/a', obj);
  };
  return {
    store,
    calls,
    cache,
    conflictNext: () => {
      patchAnswer = 'conflict';
    },
    /** The watch delivers `obj` to the cache. */
    deliver: (obj: ImageShare) => deliver(obj),
    echo,
    setServer: (obj: ImageShare) => {
      server = obj;
    },
  };
}

describe('reconcileStore reads', () => {
  it('reads the cached object: a pass makes no GET', async () => {
    const w = world(object('10'));
    expect((await w.store.get('ns', 'a'))?.metadata.resourceVersion).toBe('10');
    expect(w.calls).toEqual([]);
  });

  it('reads its own last write while the cache has not shown it yet, then the cache again', async () => {
    const w = world(object('10'));
    const written = await w.store.patchStatus(object('10'), { observedGeneration: 1 });
    expect(written).toEqual({ resourceVersion: '11' });
    const read = await w.store.get('ns', 'a');
    expect(read?.metadata.resourceVersion).toBe('11');
    expect(read?.status).toEqual({ observedGeneration: 1 });
    // The watch delivers our write, then a user's edit: the cache is as new or newer and is read.
    w.deliver(object('11', { observedGeneration: 1 }));
    w.deliver({ ...object('12', { observedGeneration: 1 }), metadata: { ...object('12').metadata, generation: 2 } });
    expect((await w.store.get('ns', 'a'))?.metadata.generation).toBe(2);
    expect(w.calls).toEqual(['PATCH@10']);
  });

  it('prefers a cache newer than its own write (someone changed the object after it)', async () => {
    const w = world(object('10'));
    await w.store.patchStatus(object('10'), { observedGeneration: 1 });
    w.cache.current = object('15', { installation: 'other' }); // no onStored: only the comparison decides
    expect((await w.store.get('ns', 'a'))?.metadata.resourceVersion).toBe('15');
  });

  it('after a conflicting write, the next read is a fresh GET (the cache missed another writer)', async () => {
    const w = world(object('10'));
    w.setServer(object('13', { managedAccounts: ['1234567890123456'] }));
    w.conflictNext();
    expect(await w.store.patchStatus(object('10'), { observedGeneration: 1 })).toBe('conflict');
    const read = await w.store.get('ns', 'a');
    expect(read?.metadata.resourceVersion).toBe('13');
    expect(read?.status?.managedAccounts).toEqual(['1234567890123456']);
    expect(w.calls).toEqual(['PATCH@10', 'GET']);
    // Only that one read: the next comes from the cache again.
    await w.store.get('ns', 'a');
    expect(w.calls).toEqual(['PATCH@10', 'GET']);
  });

  it('a re-created object (another uid) is read from the cache, not from the old object’s write', async () => {
    const w = world(object('10'));
    await w.store.patchStatus(object('10'), { observedGeneration: 1 });
    w.cache.current = object('9', {}, 'u-2');
    expect((await w.store.get('ns', 'a'))?.metadata.uid).toBe('u-2');
  });

  it('a deleted object reads as gone even right after a write of ours', async () => {
    const w = world(object('10'));
    await w.store.patchStatus(object('10'), { observedGeneration: 1 });
    w.cache.current = undefined;
    expect(await w.store.get('ns', 'a')).toBeNull();
  });

  it('without a cache every read is a fresh GET', async () => {
    const calls: string[] = [];
    const client = {
      async get() {
        calls.push('GET');
        return object('10');
      },
    } as unknown as ImageShareClient;
    await reconcileStore(client, () => []).get('ns', 'a');
    expect(calls).toEqual(['GET']);
  });
});

// What the store holds besides the cache: one written object per key only while the cache lags behind it. Held for
// ever, it would be a second copy of every object the operator wrote (issue 19: 1.5 KiB per object at 2,000).
describe('reconcileStore holds a write only while the cache lags', () => {
  const rows: Array<{ why: string; echo: 'before' | 'after' | 'never'; held: number; readRv: string }> = [
    {
      why: 'the watch event came before the PATCH answered: the cache already shows the write, nothing is kept',
      echo: 'before',
      held: 0,
      readRv: '11',
    },
    {
      why: 'the watch event came after the PATCH answered: kept until then, dropped when it arrives',
      echo: 'after',
      held: 0,
      readRv: '11',
    },
    {
      why: 'no watch event yet: the write is kept, and a read returns it rather than the older cache',
      echo: 'never',
      held: 1,
      readRv: '11',
    },
  ];
  it.each(rows)('$why', async ({ echo, held, readRv }) => {
    const w = world(object('10'), echo);
    await w.store.patchStatus(object('10'), { observedGeneration: 1 });
    if (echo === 'after') {
      expect(w.store.held()).toBe(1);
      w.deliver(object('11', { observedGeneration: 1 }));
    }
    expect(w.store.held()).toBe(held);
    expect((await w.store.get('ns', 'a'))?.metadata.resourceVersion).toBe(readRv);
    expect(w.calls).toEqual(['PATCH@10']);
  });
});
