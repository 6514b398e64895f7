// Ownership that cannot be lost, on the real stack: the operator process against the real kube-apiserver, the ECS
// emulator behind the unmodified SDK. One test per reproduction of the ownership issue (crash right after a grant,
// a conflicting write during the pass, bisection under throttling, read-after-write lag, the extra pass, malformed
// answers, calls above the minimum). Assertions read the cloud (the emulator's state and call log), not the
// operator's own account of it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import type { CallRecord } from '../emulator/server.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { account, accounts, OWNER, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const IMAGES = [
  'm-handover0001',
  'm-crash0000001',
  'm-crashadd0001',
  'm-label0000001',
  'm-specrace0001',
  'm-bisect000001',
  'm-lagpub000001',
  'm-laggrant0001',
  'm-firstpass001',
  'm-malformed001',
  'm-minimum00001',
];

let emu: Emulator;
let op: OperatorProcess;
let ns: string;

const startOp = () =>
  startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--resync-interval', '10m'],
  });

beforeAll(async () => {
  ns = await createNamespace('own');
  emu = await startEmulator({ seed: operatorWorld(IMAGES) });
  op = await startOp();
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await emu?.close();
});

async function apply(name: string, spec: Partial<ImageShareSpec> & { imageId: string }): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: REGION, ...spec },
  });
}
const get = (name: string) => getJson<ImageShare>('imageshare', ns, name);
const sharedIn = async (imageId: string) => (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id).sort();
const callsFor = async (imageId: string): Promise<CallRecord[]> =>
  (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId);
const list = (c: CallRecord, prefix: string) =>
  Object.entries(c.params)
    .filter(([k]) => k.startsWith(`${prefix}.`))
    .map(([, v]) => String(v))
    .sort();
const count = (calls: CallRecord[], action: string) => calls.filter((c) => c.action === action).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(name: string, reason = 'Synced'): Promise<ImageShare> {
  return eventually(
    async () => {
      const o = await get(name);
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      if (o.status?.observedGeneration !== o.metadata.generation || ready?.reason !== reason)
        throw new Error(`${name}: ${ready?.reason} ${ready?.message ?? ''}`);
      return o;
    },
    { timeoutMs: 45_000 },
  );
}

async function eventsOf(name: string): Promise<string[]> {
  const out = JSON.parse((await kubectl(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json'])).stdout) as {
    items: Array<{ reason: string; regarding: { name: string } }>;
  };
  return out.items.filter((e) => e.regarding.name === name).map((e) => e.reason);
}

describe('1. a crash right after ECS applied a grant loses nothing', () => {
  it('SIGKILL while the grant is applied but unanswered; the restarted operator adopts it; delete with Revoke leaves nothing', async () => {
    await emu.admin.addFault({
      type: 'slowReply',
      ms: 4_000,
      action: 'ModifyImageSharePermission',
      imageId: 'm-crash0000001',
      times: 1,
    });
    await apply('crash', { imageId: 'm-crash0000001', accounts: accounts(1, 3), deletionPolicy: 'Revoke' });
    await eventually(async () => expect(await sharedIn('m-crash0000001')).toEqual(accounts(1, 3)), {
      timeoutMs: 20_000,
    });
    await op.kill();
    expect((await get('crash')).status?.managedAccounts ?? []).toEqual([]); // the final status write never happened
    op = await startOp();
    const o = await waitReady('crash');
    expect(o.status?.managedAccounts).toEqual(accounts(1, 3));
    await kubectl(['delete', 'imageshare', 'crash', '-n', ns, '--wait=true', '--timeout=60s']);
    expect(await sharedIn('m-crash0000001')).toEqual([]);
  });

  it('Additive: an account granted just before a crash is revoked once it leaves the spec', async () => {
    await emu.admin.addFault({
      type: 'slowReply',
      ms: 4_000,
      action: 'ModifyImageSharePermission',
      imageId: 'm-crashadd0001',
      times: 1,
    });
    await apply('crashadd', { imageId: 'm-crashadd0001', accounts: accounts(4, 2), sharePolicy: 'Additive' });
    await eventually(async () => expect(await sharedIn('m-crashadd0001')).toEqual(accounts(4, 2)), {
      timeoutMs: 20_000,
    });
    await op.kill();
    op = await startOp();
    await waitReady('crashadd');
    await apply('crashadd', { imageId: 'm-crashadd0001', accounts: [account(4)], sharePolicy: 'Additive' });
    await eventually(async () => expect(await sharedIn('m-crashadd0001')).toEqual([account(4)]), { timeoutMs: 30_000 });
  });
});

describe('2. a write to the object during a pass does not lose the record of the grant', () => {
  it('a label patch racing the pass: the grant is recorded', async () => {
    await emu.admin.addFault({
      type: 'slowReply',
      ms: 2_000,
      action: 'ModifyImageSharePermission',
      imageId: 'm-label0000001',
      times: 1,
    });
    await apply('label', { imageId: 'm-label0000001', accounts: accounts(7, 2), sharePolicy: 'Additive' });
    await eventually(async () => expect(await sharedIn('m-label0000001')).toEqual(accounts(7, 2)), {
      timeoutMs: 20_000,
    });
    await kubectl(['label', 'imageshare', 'label', '-n', ns, 'argocd.argoproj.io/instance=platform']);
    // The emulator logs a call when it answers: none logged yet means the label landed while the grant was in flight.
    expect(count(await callsFor('m-label0000001'), 'ModifyImageSharePermission')).toBe(0);
    const o = await waitReady('label');
    expect(o.status?.managedAccounts).toEqual(accounts(7, 2));
    expect(count(await callsFor('m-label0000001'), 'ModifyImageSharePermission')).toBe(1);
  });

  it('an account removed from the spec while the pass grants it is recorded, then revoked', async () => {
    await emu.admin.addFault({
      type: 'slowReply',
      ms: 2_000,
      action: 'ModifyImageSharePermission',
      imageId: 'm-specrace0001',
      times: 1,
    });
    await apply('specrace', { imageId: 'm-specrace0001', accounts: accounts(9, 2), sharePolicy: 'Additive' });
    await eventually(async () => expect(await sharedIn('m-specrace0001')).toEqual(accounts(9, 2)), {
      timeoutMs: 20_000,
    });
    await apply('specrace', { imageId: 'm-specrace0001', accounts: [account(9)], sharePolicy: 'Additive' });
    await eventually(async () => expect(await sharedIn('m-specrace0001')).toEqual([account(9)]), { timeoutMs: 30_000 });
    expect((await waitReady('specrace')).status?.managedAccounts).toEqual([account(9)]);
  });
});

describe('3. bisection keeps what ECS accepted', () => {
  it('a batch split to find a bad account, then throttled: every share ECS holds is recorded and revocable', async () => {
    // The owner's own account (it sorts first) makes the batch fail without naming anyone, so it is bisected:
    // [O,a,b,c,d] ✗ → [O,a,b] ✗ → [O,a] ✗ → [O] ✗ → [a] ✓ → [b] ✓ → [c,d] throttled past the retries.
    const spec = { imageId: 'm-bisect000001', accounts: [...accounts(11, 4), OWNER], sharePolicy: 'Additive' as const };
    await emu.admin.throttle({ qps: 0.001, burst: 6, retryAfterMs: 50 });
    try {
      await apply('bisect', spec);
      const throttled = await waitReady('bisect', 'Throttled');
      const shared = await sharedIn('m-bisect000001');
      expect(shared).toEqual(accounts(11, 2));
      expect(throttled.status?.managedAccounts).toEqual(shared);
    } finally {
      await emu.admin.clearThrottle();
    }
    const done = await waitReady('bisect', 'AccountsFailed');
    expect(await sharedIn('m-bisect000001')).toEqual(accounts(11, 4));
    expect(done.status?.managedAccounts).toEqual(accounts(11, 4));
    await apply('bisect', { ...spec, accounts: [] });
    await eventually(async () => expect(await sharedIn('m-bisect000001')).toEqual([]), { timeoutMs: 60_000 });
  }, 120_000);
});

describe('4. read-after-write lag', () => {
  it('with reads lagging 3 s: exactly one IsPublic call, one grant per account, no DriftCorrected for our own writes', async () => {
    await emu.admin.setOptions({ readLagMs: 3_000 });
    try {
      await apply('lagpub', { imageId: 'm-lagpub000001', accounts: [], community: true });
      await apply('laggrant', { imageId: 'm-laggrant0001', accounts: accounts(20, 3) });
      await waitReady('lagpub');
      await waitReady('laggrant');
      await sleep(8_000); // several confirmation polls' worth of time, through the lag
      const pub = (await callsFor('m-lagpub000001')).filter((c) => c.action === 'ModifyImageSharePermission');
      expect(pub.map((c) => c.params.IsPublic)).toEqual(['true']);
      const grants = (await callsFor('m-laggrant0001'))
        .filter((c) => c.action === 'ModifyImageSharePermission')
        .flatMap((c) => list(c, 'AddAccount'));
      expect(grants).toEqual(accounts(20, 3));
      expect(await eventsOf('lagpub')).toEqual(['Published']);
      expect(await eventsOf('laggrant')).toEqual(['Granted']);
    } finally {
      await emu.admin.setOptions({ readLagMs: 0 });
    }
  });
});

describe('5. no extra pass for a new object', () => {
  it('a create costs one pass: 1 DescribeImages, 1 DescribeImageSharePermission page, 1 grant, and nothing more', async () => {
    await apply('firstpass', { imageId: 'm-firstpass001', accounts: accounts(30, 2) });
    await waitReady('firstpass');
    await sleep(5_000);
    const calls = await callsFor('m-firstpass001');
    expect(calls.map((c) => c.action)).toEqual([
      'DescribeImages',
      'DescribeImageSharePermission',
      'ModifyImageSharePermission',
    ]);
  });
});

describe('6. a malformed answer is never read as "shared with nobody"', () => {
  it('an empty account list against TotalCount 2: no write, a transient CloudAPIError; correct once ECS answers properly', async () => {
    await emu.admin.share(REGION, 'm-malformed001', { add: [account(40), account(41)] });
    await emu.admin.addFault({
      type: 'malformed',
      variant: 'accountsEmpty',
      action: 'DescribeImageSharePermission',
      imageId: 'm-malformed001',
    });
    await apply('malformed', { imageId: 'm-malformed001', accounts: [account(40)] });
    await waitReady('malformed', 'CloudAPIError');
    expect((await callsFor('m-malformed001')).filter((c) => c.action === 'ModifyImageSharePermission')).toEqual([]);
    expect((await get('malformed')).status?.conditions?.find((c) => c.type === 'Reconciling')).toBeDefined();
    await emu.admin.clearFaults();
    await waitReady('malformed');
    expect(await sharedIn('m-malformed001')).toEqual([account(40)]);
  }, 90_000);
});

describe('7. calls per change equal the minimum', () => {
  it('create, edit, community flip: reads = 1 DI + 1 DSP page, writes = ceil(adds/10) + ceil(removes/10) (+1 per IsPublic)', async () => {
    const at = async () => (await callsFor('m-minimum00001')).length;
    await apply('minimum', { imageId: 'm-minimum00001', accounts: accounts(50, 12) });
    await waitReady('minimum');
    const create = await callsFor('m-minimum00001');
    expect([
      count(create, 'DescribeImages'),
      count(create, 'DescribeImageSharePermission'),
      count(create, 'ModifyImageSharePermission'),
    ]).toEqual([1, 1, 2]);
    let mark = await at();
    await apply('minimum', { imageId: 'm-minimum00001', accounts: [...accounts(50, 10), account(70)] });
    await eventually(
      async () => expect(await sharedIn('m-minimum00001')).toEqual([...accounts(50, 10), account(70)].sort()),
      { timeoutMs: 20_000 },
    );
    await waitReady('minimum');
    const edit = (await callsFor('m-minimum00001')).slice(mark);
    expect([
      count(edit, 'DescribeImages'),
      count(edit, 'DescribeImageSharePermission'),
      count(edit, 'ModifyImageSharePermission'),
    ]).toEqual([1, 1, 2]);
    mark = await at();
    await apply('minimum', { imageId: 'm-minimum00001', accounts: [], community: true });
    await eventually(async () => expect((await emu.admin.image(REGION, 'm-minimum00001')).community).toBe(true), {
      timeoutMs: 20_000,
    });
    await waitReady('minimum');
    const flip = (await callsFor('m-minimum00001')).slice(mark);
    // 11 revokes in 2 calls, then 1 publish.
    expect([
      count(flip, 'DescribeImages'),
      count(flip, 'DescribeImageSharePermission'),
      count(flip, 'ModifyImageSharePermission'),
    ]).toEqual([1, 1, 3]);
  });
});

describe('one image, one owner: handover', () => {
  it('deleting the owner wakes the waiting duplicate at once, not at its next resync (10 minutes here)', async () => {
    await apply('owner', { imageId: 'm-handover0001', accounts: [account(60)] });
    await waitReady('owner');
    await apply('waiting', { imageId: 'm-handover0001', accounts: [account(61)] });
    await waitReady('waiting', 'DuplicateImageShare');
    await kubectl(['delete', 'imageshare', 'owner', '-n', ns, '--wait=true']);
    await waitReady('waiting');
    expect(await sharedIn('m-handover0001')).toEqual([account(61)]);
  });
});
