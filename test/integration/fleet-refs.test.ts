// ImageShare.spec.accountSetRefs end to end (docs/adr/0033): the real operator process against the real kube-apiserver,
// under the chart's RBAC, with the ECS emulator behind the unmodified SDK. Assertions use what the emulator holds and
// what the apiserver serves.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { addTestUser, testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { assertKstatusShape } from '../support/safety.ts';
import { account, accounts, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const IMAGES = {
  shared: 'm-refsshared01',
  missing: 'm-refsmissing1',
  quota: 'm-refsquota001',
  held: 'm-refsheld0001',
} as const;
const WRITE_ACTIONS = new Set(['ModifyImageSharePermission', 'ModifyImageAttribute', 'TagResources']);

let emu: Emulator;
let op: OperatorProcess;
let ns: string;

beforeAll(async () => {
  ns = await createNamespace('refs');
  emu = await startEmulator({ seed: operatorWorld(Object.values(IMAGES)) });
  const kubeconfig = await operatorUserKubeconfig({ ...testState(), addUser: addTestUser }, ns, {
    watchNamespaces: [ns],
    leaderElection: false,
  });
  // A long resync: only a set's own event can bring a referrer back within the 10 s the tests allow.
  op = await startOperator({
    kubeconfig,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--resync-interval', '10m'],
  });
}, 120_000);

afterAll(async () => {
  const code = await op?.stop();
  await emu?.close();
  expect(code).toBe(0);
});

const accountSet = (name: string, ids: readonly string[]) =>
  applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'AccountSet',
    metadata: { name, namespace: ns },
    spec: { accounts: ids.map((id) => ({ id })) },
  });
const clusterAccountSet = (name: string, ids: readonly string[]) =>
  applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ClusterAccountSet',
    metadata: { name },
    spec: { accounts: ids.map((id) => ({ id })) },
  });
const imageShare = (name: string, spec: Record<string, unknown>) =>
  applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: REGION, ...spec },
  });
const getShare = (name: string) => getJson<ImageShare>('imageshare', ns, name);
const sharedWith = async (imageId: string) => (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id);

async function condition(name: string, type: string) {
  const s = await getShare(name);
  if (s.status !== undefined) assertKstatusShape(s.status, s.metadata.generation ?? 0);
  return s.status?.conditions?.find((c) => c.type === type);
}

/** ECS write calls for `imageId` since the call log's `seq`. */
async function writesSince(seq: number, imageId: string): Promise<string[]> {
  const { calls } = await emu.admin.calls();
  return calls.filter((c) => c.seq > seq && c.imageId === imageId && WRITE_ACTIONS.has(c.action)).map((c) => c.action);
}
const lastSeq = async () => Math.max(0, ...(await emu.admin.calls()).calls.map((c) => c.seq));

describe('ImageShare with spec.accountSetRefs on the real stack', () => {
  it('shares the union of inline accounts and the referenced sets, and an AccountSet edit reaches the cloud within 10 s', async () => {
    const cluster = `partners-${ns}`;
    await accountSet('prod', [account(1), account(2)]);
    await clusterAccountSet(cluster, [account(3)]);
    await imageShare('shared', {
      imageId: IMAGES.shared,
      accounts: [account(4)],
      accountSetRefs: [
        { kind: 'AccountSet', name: 'prod' },
        { kind: 'ClusterAccountSet', name: cluster },
      ],
    });
    await eventually(async () => expect((await condition('shared', 'Ready'))?.status).toBe('True'), {
      timeoutMs: 30_000,
    });
    expect(await sharedWith(IMAGES.shared)).toEqual([account(1), account(2), account(3), account(4)]);

    // Authoritative: the account that left the set is revoked, the new one granted, through the set's event alone.
    const edited = Date.now();
    await accountSet('prod', [account(2), account(5)]);
    await eventually(
      async () => expect(await sharedWith(IMAGES.shared)).toEqual([account(2), account(3), account(4), account(5)]),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    process.stdout.write(`AccountSet edit reached the cloud in ${Date.now() - edited} ms\n`);
    await kubectl(['delete', 'imageshare', '-n', ns, 'shared']);
    await kubectl(['delete', 'clusteraccountset', cluster, '--wait=false']);
  }, 90_000);

  it('a reference to a set that does not exist blocks the object (named in the message) with no ECS write, and the set appearing unblocks it', async () => {
    const seq = await lastSeq();
    await imageShare('missing', {
      imageId: IMAGES.missing,
      accounts: [account(6)],
      accountSetRefs: [{ kind: 'AccountSet', name: 'not-yet' }],
    });
    const stalled = await eventually(async () => {
      const c = await condition('missing', 'Stalled');
      expect(c?.reason).toBe('AccountSetNotFound');
      return c;
    });
    expect(stalled?.message).toContain('AccountSet not-yet');
    expect(await writesSince(seq, IMAGES.missing)).toEqual([]);
    expect(await sharedWith(IMAGES.missing)).toEqual([]);

    await accountSet('not-yet', [account(7)]);
    await eventually(async () => expect(await sharedWith(IMAGES.missing)).toEqual([account(6), account(7)]), {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    await kubectl(['delete', 'imageshare', '-n', ns, 'missing']);
  }, 60_000);

  it('a union over the 50-account quota stops before any ECS call, naming the lists that make it up', async () => {
    await accountSet('big-a', accounts(10, 30));
    await accountSet('big-b', accounts(35, 30));
    const seq = await lastSeq();
    await imageShare('quota', {
      imageId: IMAGES.quota,
      accounts: [account(1)],
      accountSetRefs: [
        { kind: 'AccountSet', name: 'big-a' },
        { kind: 'AccountSet', name: 'big-b' },
      ],
    });
    const stalled = await eventually(async () => {
      const c = await condition('quota', 'Stalled');
      expect(c?.reason).toBe('TooManyAccounts');
      return c;
    });
    expect(stalled?.message).toContain('spec.accounts, AccountSet big-a, AccountSet big-b');
    expect(stalled?.message).toContain('56 distinct accounts');
    const { calls } = await emu.admin.calls();
    expect(calls.filter((c) => c.seq > seq && c.imageId === IMAGES.quota)).toEqual([]);
    await kubectl(['delete', 'imageshare', '-n', ns, 'quota']);
  }, 60_000);

  it('deleting a referenced AccountSet waits, Terminating with a message naming the referrer, until the reference is removed', async () => {
    await accountSet('held', [account(8)]);
    await imageShare('held', { imageId: IMAGES.held, accountSetRefs: [{ kind: 'AccountSet', name: 'held' }] });
    await eventually(async () => expect(await sharedWith(IMAGES.held)).toEqual([account(8)]), { timeoutMs: 30_000 });
    await eventually(async () => {
      const set = await getJson<{ metadata: { finalizers?: string[] } }>('accountset', ns, 'held');
      expect(set.metadata.finalizers).toContain('ecs.alicloud.dev/accountset-in-use');
    });

    await kubectl(['delete', 'accountset', '-n', ns, 'held', '--wait=false']);
    type Held = {
      metadata: { deletionTimestamp?: string };
      status?: { referrers?: number; conditions?: Array<{ type: string; reason: string; message: string }> };
    };
    const held = await eventually(async () => {
      const set = await getJson<Held>('accountset', ns, 'held');
      expect(set.status?.conditions?.[0]?.reason).toBe('DeletionBlocked');
      return set;
    });
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(held.status?.referrers).toBe(1);
    expect(held.status?.conditions?.[0]?.message).toContain(`ImageShare ${ns}/held`);
    const table = (await kubectl(['get', 'accountset', '-n', ns, 'held'])).stdout.split('\n');
    expect(table[0]?.split(/\s+/)).toEqual(['NAME', 'REFERRERS', 'AGE']);
    expect(table[1]?.split(/\s+/).slice(0, 2)).toEqual(['held', '1']);
    // Still there and still shared: a set being deleted keeps resolving while it is referenced.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await getJson<Held>('accountset', ns, 'held')).metadata.deletionTimestamp).toBeDefined();
    expect(await sharedWith(IMAGES.held)).toEqual([account(8)]);

    await imageShare('held', { imageId: IMAGES.held, accounts: [account(8)], accountSetRefs: null });
    await eventually(async () => {
      const r = await kubectl(['get', 'accountset', '-n', ns, 'held', '--ignore-not-found', '-o', 'name']);
      expect(r.stdout.trim()).toBe('');
    });
    expect(await sharedWith(IMAGES.held)).toEqual([account(8)]);
  }, 90_000);

  it('an ImageShareSet referencing a ClusterAccountSet holds it too, and releasing the reference lets it go', async () => {
    const name = `scanners-${ns}`;
    type Held = { metadata: { finalizers?: string[] }; status?: { conditions?: Array<{ message: string }> } };
    const getCluster = async () =>
      JSON.parse((await kubectl(['get', 'clusteraccountset', name, '-o', 'json'])).stdout) as Held;
    await clusterAccountSet(name, [account(9)]);
    const set = {
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShareSet',
      metadata: { name: 'scanned', namespace: ns },
      spec: {
        selector: { imageFamily: 'none-yet' },
        regions: [REGION],
        accountSetRefs: [{ kind: 'ClusterAccountSet', name }],
      },
    };
    await applyYaml(set);
    await eventually(async () => {
      const got = await getCluster();
      expect(got.metadata.finalizers).toContain('ecs.alicloud.dev/accountset-in-use');
      expect(got.status?.conditions?.[0]?.message).toContain(`ImageShareSet ${ns}/scanned`);
    });
    await applyYaml({ ...set, spec: { ...set.spec, accountSetRefs: null, accounts: [account(9)] } });
    await eventually(async () => expect((await getCluster()).metadata.finalizers ?? []).toEqual([]));
    await kubectl(['delete', 'clusteraccountset', name]);
  }, 60_000);
});
