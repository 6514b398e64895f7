// ImageShareSet end to end (docs/adr/0027): the real operator process against the real kube-apiserver, under the
// chart's RBAC, with the ECS emulator behind the unmodified SDK. Builds appear and leave through the emulator's admin
// API, as a pipeline and a console would; assertions use what the emulator holds and what the apiserver serves.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import type { ImageShareSet } from '../../src/fleet/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { addTestUser, testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { assertKstatusShape } from '../support/safety.ts';
import { account, NO_COMMUNITY_REGION, OWNER, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

/** The discovery interval the operator runs with: "within one interval" below allows one interval plus a pass. */
const INTERVAL_MS = 4_000;
const REGIONS = [REGION, NO_COMMUNITY_REGION];

let emu: Emulator;
let op: OperatorProcess;
let ns: string;
let kubeconfig: string;

async function start(): Promise<OperatorProcess> {
  return startOperator({
    kubeconfig,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--resync-interval', '10s', '--discovery-interval', `${INTERVAL_MS / 1000}s`],
  });
}

beforeAll(async () => {
  ns = await createNamespace('fleet');
  emu = await startEmulator({ seed: operatorWorld([]) });
  kubeconfig = await operatorUserKubeconfig({ ...testState(), addUser: addTestUser }, ns, {
    watchNamespaces: [ns],
    leaderElection: false,
  });
  op = await start();
}, 120_000);

afterAll(async () => {
  const code = await op?.stop();
  await emu?.close();
  expect(code).toBe(0);
});

let day = 0;
/** A build finishing in `region`: a new Available image of `family`, newer than every earlier build. */
async function build(family: string, region: string, id: string): Promise<string> {
  day++;
  await emu.admin.addImage({
    id,
    region,
    owner: OWNER,
    name: `${family}-${id}`,
    family,
    creationTime: `2026-01-${String(day).padStart(2, '0')}T00:00:00Z`,
  });
  return id;
}

async function applySet(name: string, spec: Record<string, unknown>): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShareSet',
    metadata: { name, namespace: ns },
    spec,
  });
}

async function children(set: string): Promise<ImageShare[]> {
  const r = await kubectl([
    'get',
    'imageshares',
    '-n',
    ns,
    '-l',
    `ecs.alicloud.dev/imageshareset=${set}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(r.stdout) as { items: ImageShare[] }).items;
}

async function sharedWith(region: string, imageId: string): Promise<string[]> {
  return (await emu.admin.image(region, imageId)).sharedWith.map((s) => s.id);
}

const getSet = (name: string) => getJson<ImageShareSet>('imageshareset', ns, name);

async function waitSetReady(name: string, timeoutMs = 45_000): Promise<ImageShareSet> {
  return eventually(
    async () => {
      const s = await getSet(name);
      const ready = s.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True' || s.status?.observedGeneration !== s.metadata.generation)
        throw new Error(`${name}: Ready ${ready?.status} ${ready?.reason}: ${ready?.message}`);
      assertKstatusShape(s.status, s.metadata.generation ?? 0);
      return s;
    },
    { timeoutMs },
  );
}

describe('ImageShareSet on the real stack', () => {
  it('a new build in two regions is shared in both within one discovery interval; keep latest 2 unshares the third-newest under Revoke', async () => {
    const a1 = await build('golden', REGION, 'm-goldhz0001');
    const b1 = await build('golden', NO_COMMUNITY_REGION, 'm-goldsh0001');
    await applySet('golden', {
      selector: { imageFamily: 'golden' },
      regions: REGIONS,
      keep: { latest: 2 },
      accounts: [account(1)],
      deletionPolicy: 'Revoke',
    });
    await eventually(async () => {
      expect(await sharedWith(REGION, a1)).toEqual([account(1)]);
      expect(await sharedWith(NO_COMMUNITY_REGION, b1)).toEqual([account(1)]);
    });
    const ready = await waitSetReady('golden');
    expect(ready.status?.children).toEqual({ total: 2, synced: 2, failed: 0, pending: 0 });
    expect(ready.status?.regions?.find((r) => r.regionId === REGION)).toMatchObject({
      newestImageId: a1,
      matched: 1,
      kept: 1,
    });

    // A new build lands in both regions: shared in both before one more interval (plus a pass) has gone by.
    const a2 = await build('golden', REGION, 'm-goldhz0002');
    const b2 = await build('golden', NO_COMMUNITY_REGION, 'm-goldsh0002');
    await eventually(
      async () => {
        expect(await sharedWith(REGION, a2)).toEqual([account(1)]);
        expect(await sharedWith(NO_COMMUNITY_REGION, b2)).toEqual([account(1)]);
      },
      { timeoutMs: INTERVAL_MS + 4_000, intervalMs: 200 },
    );

    // A third build: the oldest falls out of keep latest 2, its child is deleted and (Revoke) the build unshared.
    const a3 = await build('golden', REGION, 'm-goldhz0003');
    await eventually(
      async () => {
        expect(await sharedWith(REGION, a3)).toEqual([account(1)]);
        expect(await sharedWith(REGION, a1)).toEqual([]);
      },
      { timeoutMs: INTERVAL_MS + 15_000 },
    );
    expect(await sharedWith(REGION, a2)).toEqual([account(1)]);
    const names = (await children('golden')).map((c) => c.metadata.name).sort();
    expect(names).toEqual(
      [
        `golden-${REGION}-${a2}`,
        `golden-${REGION}-${a3}`,
        `golden-${NO_COMMUNITY_REGION}-${b1}`,
        `golden-${NO_COMMUNITY_REGION}-${b2}`,
      ].sort(),
    );
  }, 120_000);

  it('under Retain the third-newest build stays shared when its child goes', async () => {
    const r1 = await build('retained', REGION, 'm-retain00001');
    await build('retained', REGION, 'm-retain00002');
    await applySet('retained', {
      selector: { imageFamily: 'retained' },
      regions: [REGION],
      keep: { latest: 2 },
      accounts: [account(2)],
      deletionPolicy: 'Retain',
    });
    await waitSetReady('retained');
    expect(await sharedWith(REGION, r1)).toEqual([account(2)]);
    const r3 = await build('retained', REGION, 'm-retain00003');
    await eventually(async () => {
      expect(await sharedWith(REGION, r3)).toEqual([account(2)]);
      expect((await children('retained')).map((c) => c.spec.imageId).sort()).toEqual(['m-retain00002', r3]);
    });
    expect(await sharedWith(REGION, r1)).toEqual([account(2)]);
  }, 90_000);

  it('a child edited by hand is set back to the template, and its extra account is revoked again', async () => {
    const e1 = await build('edited', REGION, 'm-edited00001');
    await applySet('edited', { selector: { imageFamily: 'edited' }, regions: [REGION], accounts: [account(3)] });
    await waitSetReady('edited');
    const child = `edited-${REGION}-${e1}`;
    await kubectl([
      'patch',
      'imageshare',
      child,
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { accounts: [account(3), account(4)], deletionPolicy: 'Revoke' } }),
    ]);
    await eventually(async () => {
      const c = await getJson<ImageShare>('imageshare', ns, child);
      expect(c.spec.accounts).toEqual([account(3)]);
      expect(c.spec.deletionPolicy).toBe('Retain');
      expect(await sharedWith(REGION, e1)).toEqual([account(3)]);
    });
  }, 90_000);

  it('deleting the set deletes its children, each by its deletionPolicy (Revoke: every build unshared)', async () => {
    const d1 = await build('doomed', REGION, 'm-doomed00001');
    const d2 = await build('doomed', NO_COMMUNITY_REGION, 'm-doomed00002');
    await applySet('doomed', {
      selector: { imageFamily: 'doomed' },
      regions: REGIONS,
      accounts: [account(5)],
      deletionPolicy: 'Revoke',
    });
    await waitSetReady('doomed');
    expect(await sharedWith(REGION, d1)).toEqual([account(5)]);
    await kubectl(['delete', 'imageshareset', 'doomed', '-n', ns, '--wait=true', '--timeout=60s']);
    expect(await children('doomed')).toEqual([]);
    expect(await sharedWith(REGION, d1)).toEqual([]);
    expect(await sharedWith(NO_COMMUNITY_REGION, d2)).toEqual([]);
  }, 90_000);

  it('a selector that matches nothing is reported as NoImagesMatched, without a retry loop', async () => {
    await applySet('empty', { selector: { imageFamily: 'no-such-family' }, regions: [REGION] });
    const s = await eventually(async () => {
      const got = await getSet('empty');
      expect(got.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('NoImagesMatched');
      return got;
    });
    assertKstatusShape(s.status, s.metadata.generation ?? 0);
    await emu.admin.clearCalls();
    const passes = () => op.logs().filter((l) => l.key === `${ns}/empty` && l.msg === 'reconciled').length;
    const before = passes();
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 2));
    // One pass per interval, not a hot loop: two intervals give at most three.
    expect(passes() - before).toBeGreaterThanOrEqual(1);
    expect(passes() - before).toBeLessThanOrEqual(3);
    // Batched: the four sets alive in this region share one listing per tick, where one listing per set per tick
    // would be at least eight in two intervals.
    const listings = (await emu.admin.calls()).calls.filter(
      (c) => c.action === 'DescribeImages' && c.regionId === REGION && c.imageId === null,
    );
    expect(listings.length).toBeGreaterThanOrEqual(1);
    expect(listings.length).toBeLessThanOrEqual(4);
  }, 60_000);

  it('an AccountSet or ClusterAccountSet edit reaches every child within 10 s, and the cloud follows', async () => {
    const l1 = await build('listed', REGION, 'm-listed00001');
    const l2 = await build('listed', NO_COMMUNITY_REGION, 'm-listed00002');
    const vendors = `vendors-${ns}`;
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'AccountSet',
      metadata: { name: 'prod', namespace: ns },
      spec: { accounts: [{ id: account(7), description: 'production' }] },
    });
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ClusterAccountSet',
      metadata: { name: vendors },
      spec: { accounts: [{ id: account(8) }] },
    });
    await applySet('listed', {
      selector: { imageFamily: 'listed' },
      regions: REGIONS,
      accountSetRefs: [
        { kind: 'AccountSet', name: 'prod' },
        { kind: 'ClusterAccountSet', name: vendors },
      ],
      deletionPolicy: 'Revoke',
      // Long, so that only the AccountSet's own event can bring the set back within the 10 s below.
      discoveryInterval: '10m',
    });
    await waitSetReady('listed');
    expect(await sharedWith(REGION, l1)).toEqual([account(7), account(8)]);
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'AccountSet',
      metadata: { name: 'prod', namespace: ns },
      spec: { accounts: [{ id: account(9) }] },
    });
    await eventually(
      async () => {
        for (const c of await children('listed')) expect(c.spec.accounts).toEqual([account(8), account(9)]);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    await eventually(async () => {
      expect(await sharedWith(REGION, l1)).toEqual([account(8), account(9)]);
      expect(await sharedWith(NO_COMMUNITY_REGION, l2)).toEqual([account(8), account(9)]);
    });
    await kubectl(['delete', 'clusteraccountset', vendors, '--wait=false']);
  }, 90_000);

  it('an expiring account of the set is shared with every kept build and revoked from each once it has passed', async () => {
    const x1 = await build('expiring', REGION, 'm-expiring001');
    const x2 = await build('expiring', NO_COMMUNITY_REGION, 'm-expiring002');
    const expiresAt = new Date(Date.now() + 8_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await applySet('expiring', {
      selector: { imageFamily: 'expiring' },
      regions: REGIONS,
      accounts: [account(11)],
      expiringAccounts: [{ id: account(10), expiresAt }],
    });
    await eventually(async () => {
      expect(await sharedWith(REGION, x1)).toEqual([account(10), account(11)]);
      expect(await sharedWith(NO_COMMUNITY_REGION, x2)).toEqual([account(10), account(11)]);
    });
    await eventually(
      async () => {
        expect(await sharedWith(REGION, x1)).toEqual([account(11)]);
        expect(await sharedWith(NO_COMMUNITY_REGION, x2)).toEqual([account(11)]);
      },
      { timeoutMs: 30_000 },
    );
    for (const c of await children('expiring'))
      expect(c.status?.accounts?.find((a) => a.id === account(10))?.state).toBe('Expired');
  }, 90_000);

  it('a reference that does not resolve stops the set before any child is made', async () => {
    await build('unresolved', REGION, 'm-unresolved1');
    await applySet('unresolved', {
      selector: { imageFamily: 'unresolved' },
      regions: [REGION],
      accountSetRefs: [{ kind: 'AccountSet', name: 'nope' }],
    });
    const s = await eventually(async () => {
      const got = await getSet('unresolved');
      expect(got.status?.conditions?.find((c) => c.type === 'Stalled')?.reason).toBe('AccountSetNotFound');
      return got;
    });
    expect(s.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('AccountSet nope');
    expect(await children('unresolved')).toEqual([]);
  }, 60_000);

  it('an operator killed (SIGKILL) mid-discovery and restarted creates no duplicate children', async () => {
    for (let i = 1; i <= 3; i++) await build('crash', REGION, `m-crash0000${i}`);
    const startSeq = Math.max(0, ...(await emu.admin.calls()).calls.map((c) => c.seq));
    // Discovery answers are held back, so the kill lands while a listing is in flight.
    await emu.admin.addFault({ type: 'slowReply', ms: 1_500, action: 'DescribeImages' });
    await applySet('crash', {
      selector: { imageFamily: 'crash' },
      regions: REGIONS,
      keep: { all: true },
      accounts: [account(6)],
    });
    // Sampled throughout: at no moment may two ImageShares name one (region, image).
    const duplicates = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pairs = (await children('crash')).map((c) => `${c.spec.regionId}/${c.spec.imageId}`);
        for (const p of pairs) if (pairs.indexOf(p) !== pairs.lastIndexOf(p)) duplicates.add(p);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    for (let round = 0; round < 3; round++) {
      await eventually(async () => {
        const calls = (await emu.admin.calls()).calls.filter(
          (c) => c.action === 'DescribeImages' && c.imageId === null && c.seq > startSeq,
        );
        if (calls.length <= round) throw new Error('no discovery of the crash set yet');
      });
      await op.kill();
      if (round === 1) await build('crash', REGION, 'm-crash00004');
      op = await start();
    }
    await emu.admin.clearFaults();
    await eventually(
      async () => {
        const items = await children('crash');
        const pairs = items.map((c) => `${c.spec.regionId}/${c.spec.imageId}`);
        expect(new Set(pairs).size).toBe(pairs.length);
        expect(pairs.sort()).toEqual([1, 2, 3, 4].map((i) => `${REGION}/m-crash0000${i}`));
      },
      { timeoutMs: 60_000 },
    );
    sampling = false;
    await sampler;
    expect([...duplicates]).toEqual([]);
    // The names are the deterministic ones, so a replay after the crash found the children it had made.
    expect((await children('crash')).map((c) => c.metadata.name).sort()).toEqual(
      [1, 2, 3, 4].map((i) => `crash-${REGION}-m-crash0000${i}`),
    );
    const all = JSON.parse((await kubectl(['get', 'imageshares', '-n', ns, '-o', 'json'])).stdout) as {
      items: ImageShare[];
    };
    const crashImages = all.items.filter((c) => c.spec.imageId.startsWith('m-crash')).map((c) => c.spec.imageId);
    expect(crashImages.sort()).toEqual(['m-crash00001', 'm-crash00002', 'm-crash00003', 'm-crash00004']);
    await waitSetReady('crash', 60_000);
  }, 180_000);
});
