import { describe, expect, it } from '@jest/globals';
import { FINALIZER, type ImageShare } from '../../src/api/types.ts';
import { ImageShareClient } from '../../src/kube/imageshare-client.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { adminKubeConfig, imageShareManifest } from './runtime-fixtures.ts';

const client = () => new ImageShareClient(adminKubeConfig());

async function created(ns: string, name: string, extra: Record<string, unknown> = {}): Promise<ImageShare> {
  await applyYaml({ ...imageShareManifest(ns, name), ...extra });
  const obj = await client().get(ns, name);
  if (obj === null) throw new Error(`${ns}/${name} was not created`);
  return obj;
}

function must(o: ImageShare | null): ImageShare {
  if (o === null) throw new Error('the object is gone');
  return o;
}

const readyCondition = (status: 'True' | 'False', reason: string, generation: number) => ({
  type: 'Ready' as const,
  status,
  reason,
  message: 'shared with 1 account',
  observedGeneration: generation,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('ImageShareClient against a real apiserver', () => {
  it('listClaimants answers with the siblings only, filtered by the apiserver (the CRD selectable fields)', async () => {
    // Before an object's first write the owner is decided from a fresh LIST; at 10,000 objects that LIST must not
    // carry the whole scope. The raw field-selected LIST proves the apiserver filters (no fallback was needed).
    const [a, b] = [await createNamespace('rt-claim-a'), await createNamespace('rt-claim-b')];
    const image = `m-claim${process.pid}`;
    await applyYaml(imageShareManifest(a, 'one', { imageId: image }));
    await applyYaml(imageShareManifest(b, 'two', { imageId: image }));
    await applyYaml(imageShareManifest(a, 'other', { imageId: `${image}x` }));
    await applyYaml(imageShareManifest(a, 'elsewhere', { imageId: image, regionId: 'cn-beijing' }));
    const names = (os: ImageShare[]) => os.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
    const selected = await client().listIn([a, b], `spec.regionId=cn-hangzhou,spec.imageId=${image}`);
    expect(names(selected)).toEqual([`${a}/one`, `${b}/two`]);
    expect(names(await client().listClaimants([a, b], 'cn-hangzhou', image))).toEqual([`${a}/one`, `${b}/two`]);
  });

  it('get returns null for a missing object', async () => {
    const ns = await createNamespace('rt-client');
    expect(await client().get(ns, 'absent')).toBeNull();
  });

  it('patchStatus writes through /status, leaves spec alone, and removes fields that disappeared', async () => {
    const ns = await createNamespace('rt-client-status');
    const obj = await created(ns, 's');
    const gen = obj.metadata.generation ?? 0;
    const first = must(
      await client().patchStatus(obj, {
        observedGeneration: gen,
        conditions: [readyCondition('False', 'Progressing', gen)],
        plan: { grant: ['1234567890123456'], revoke: [], community: 'Publish' },
        sharedAccounts: [],
      }),
    );
    expect(first.status?.plan?.community).toBe('Publish');
    expect(first.metadata.generation).toBe(gen); // status writes never bump generation

    // The next status drops plan.community and plan itself is gone: both must disappear on the server.
    const second = must(
      await client().patchStatus(first, {
        observedGeneration: gen,
        conditions: [readyCondition('True', 'Synced', gen)],
        sharedAccounts: ['1234567890123456'],
      }),
    );
    const onServer = await getJson<ImageShare>('imageshare', ns, 's');
    expect(onServer.status).toEqual(second.status);
    expect(onServer.status?.plan).toBeUndefined();
    expect(onServer.status?.conditions?.[0]?.reason).toBe('Synced');
    expect(onServer.spec).toEqual(obj.spec);

    // Unchanged status: no request at all, so no new resourceVersion and no watch event.
    const same = must(await client().patchStatus(second, { ...(second.status ?? {}) }));
    expect(same.metadata.resourceVersion).toBe(second.metadata.resourceVersion);
  });

  it('a status write lands even when the object changed since it was read (ownership must not be thrown away)', async () => {
    const ns = await createNamespace('rt-client-conflict');
    const stale = await created(ns, 'c');
    await kubectl([
      'patch',
      'imageshare',
      'c',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"accounts":["2234567890123456"]}}',
    ]);
    await kubectl(['label', 'imageshare', 'c', '-n', ns, 'argocd.argoproj.io/instance=x']);
    const written = must(
      await client().patchStatus(stale, { observedGeneration: 1, managedAccounts: ['1234567890123456'] }),
    );
    expect(written.status?.managedAccounts).toEqual(['1234567890123456']);
    const onServer = await getJson<ImageShare>('imageshare', ns, 'c');
    expect(onServer.status?.observedGeneration).toBe(1); // the older generation it was computed from: kstatus sees InProgress
    expect(onServer.metadata.generation).toBe(2);
  });

  it('a status write never lands on a deleted-and-recreated namesake: it resolves null', async () => {
    const ns = await createNamespace('rt-client-uid');
    const old = await created(ns, 'u');
    await kubectl(['delete', 'imageshare', 'u', '-n', ns, '--wait=true']);
    await created(ns, 'u');
    expect(
      await client().patchStatus(old, { observedGeneration: 1, managedAccounts: ['1234567890123456'] }),
    ).toBeNull();
    const onServer = await getJson<ImageShare>('imageshare', ns, 'u');
    expect(onServer.status?.managedAccounts).toBeUndefined();
  });

  it('addFinalizer keeps other finalizers added after its read (re-reads on conflict), and is idempotent', async () => {
    const ns = await createNamespace('rt-client-addfin');
    const obj = await created(ns, 'f', {});
    await kubectl([
      'patch',
      'imageshare',
      'f',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/other"]}}',
    ]);
    const withOurs = await client().addFinalizer(obj); // read before the other write: 409, re-read, retry
    expect(withOurs.metadata.finalizers).toEqual(['example.com/other', FINALIZER]);
    const again = await client().addFinalizer(withOurs);
    expect(again.metadata.resourceVersion).toBe(withOurs.metadata.resourceVersion);
  });

  it('removeFinalizer removes only ours, even when the list changed since it was read', async () => {
    const ns = await createNamespace('rt-client-rmfin');
    const obj = await created(ns, 'r');
    await kubectl([
      'patch',
      'imageshare',
      'r',
      '-n',
      ns,
      '--type=merge',
      '-p',
      `{"metadata":{"finalizers":["a.example.com/x","${FINALIZER}","b.example.com/y"]}}`,
    ]);
    const stale = await client().get(ns, 'r');
    if (stale === null) throw new Error('gone');
    // Someone removes the first finalizer after our read: our index (1) now points at b.example.com/y.
    await kubectl([
      'patch',
      'imageshare',
      'r',
      '-n',
      ns,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers/0"}]',
    ]);
    const after = await client().removeFinalizer(stale);
    expect(after?.metadata.finalizers).toEqual(['b.example.com/y']);
    const onServer = await getJson<ImageShare>('imageshare', ns, 'r');
    expect(onServer.metadata.finalizers).toEqual(['b.example.com/y']);
    expect(obj.metadata.uid).toBe(onServer.metadata.uid);
  });

  it('removeFinalizer on a deleting object lets it go, and tolerates it being gone already', async () => {
    const ns = await createNamespace('rt-client-del');
    const obj = await created(ns, 'd');
    const held = await client().addFinalizer(obj);
    await kubectl(['delete', 'imageshare', 'd', '-n', ns, '--wait=false']);
    const deleting = await client().get(ns, 'd');
    expect(deleting?.metadata.deletionTimestamp).toBeDefined();
    await client().removeFinalizer(deleting ?? held);
    expect(await client().get(ns, 'd')).toBeNull();
    expect(await client().removeFinalizer(held)).toBeNull();
  });

  it('listAll sees objects across namespaces', async () => {
    const ns1 = await createNamespace('rt-client-list');
    const ns2 = await createNamespace('rt-client-list');
    await created(ns1, 'list-x');
    await created(ns2, 'list-y');
    const keys = (await client().listAll()).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(keys).toEqual(expect.arrayContaining([`${ns1}/list-x`, `${ns2}/list-y`]));
  });
});
