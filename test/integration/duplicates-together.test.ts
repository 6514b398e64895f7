// Duplicates applied together (issue 14 item 4) and installations whose --namespaces overlap (item 5), on the
// real stack. Duplicates: one operator process watching three
// namespaces (one watch each, so watch order is not creation order), six pairs of ImageShares, each pair naming one
// image from two namespaces, all applied in one `kubectl apply`, as in the reproduction (both Additive + Revoke; in
// 2 of 6 pairs both objects' grants reached ECS). Assertions read the cloud: the emulator's share lists, sampled
// during convergence, and its call log, which holds every grant ECS ever applied.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { ImageShare } from '../../src/api/types.ts';
import type { CallRecord } from '../emulator/server.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { ImageShareClient } from '../../src/kube/imageshare-client.ts';
import { reconcileStore } from '../../src/kube/reconcile-store.ts';
import { account, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';
import { adminKubeConfig } from './runtime-fixtures.ts';

const PAIRS = 6;
const image = (i: number) => `m-together00${i}`;
const IMAGES = Array.from({ length: PAIRS }, (_, i) => image(i));
const OVERLAP_IMAGE = 'm-overlap00001';

let emu: Emulator;
let op: OperatorProcess;
let namespaces: string[];

interface Member {
  ns: string;
  name: string;
  accounts: string[];
}
interface Pair {
  imageId: string;
  members: [Member, Member];
}
let pairs: Pair[];

beforeAll(async () => {
  namespaces = await Promise.all(['dup-a', 'dup-b', 'dup-c'].map((p) => createNamespace(p)));
  emu = await startEmulator({ seed: operatorWorld([...IMAGES, OVERLAP_IMAGE]) });
  op = await startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces,
    extraArgs: ['--resync-interval', '10m'],
  });
  // Each object names its own account, so any account of a loser in the cloud is the loser's doing.
  pairs = IMAGES.map((imageId, i) => ({
    imageId,
    members: [
      { ns: namespaces[(i + 1) % 3] as string, name: `pair-${i}`, accounts: [account(20 + 2 * i)] },
      { ns: namespaces[i % 3] as string, name: `pair-${i}`, accounts: [account(21 + 2 * i)] },
    ],
  }));
}, 120_000);

const more: OperatorProcess[] = [];

afterAll(async () => {
  await Promise.all([op?.stop(), ...more.map((o) => o.stop())]);
  await emu?.close();
});

const manifest = (p: Pair, m: Member) => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name: m.name, namespace: m.ns },
  spec: {
    regionId: REGION,
    imageId: p.imageId,
    accounts: m.accounts,
    sharePolicy: 'Additive',
    deletionPolicy: 'Revoke',
  },
});
const sharedIn = async (imageId: string) => (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id);
const readyReason = async (m: Member) =>
  (await getJson<ImageShare>('imageshare', m.ns, m.name)).status?.conditions?.find((c) => c.type === 'Ready')?.reason;
/** Every account ECS accepted a grant of, per image, over the whole run. */
const grantedEver = async (): Promise<Map<string, Set<string>>> => {
  const out = new Map<string, Set<string>>();
  const ok = (c: CallRecord) => c.action === 'ModifyImageSharePermission' && c.code === 'OK' && c.imageId !== null;
  for (const c of (await emu.admin.calls()).calls.filter(ok)) {
    const ids = Object.entries(c.params)
      .filter(([k]) => k.startsWith('AddAccount.'))
      .map(([, v]) => String(v));
    const set = out.get(c.imageId as string) ?? new Set<string>();
    for (const id of ids) set.add(id);
    out.set(c.imageId as string, set);
  }
  return out;
};

describe('six pairs of duplicates applied in one kubectl apply, across three watched namespaces', () => {
  it('no image ever holds the loser’s grants; exactly one of each pair is Stalled/DuplicateImageShare; deleting the loser leaves nothing of its own', async () => {
    const docs = pairs.flatMap((p) => p.members.map((m) => stringify(manifest(p, m))));
    // Sample the cloud while the operator converges: an account only a loser named must never be there.
    const seen = new Map<string, Set<string>>(IMAGES.map((id) => [id, new Set<string>()]));
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const id of IMAGES) for (const a of await sharedIn(id)) seen.get(id)?.add(a);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await applyYaml(docs.join('---\n'));

    const verdicts = await eventually(
      async () => {
        const out: Array<{ pair: Pair; winner: Member; loser: Member }> = [];
        for (const pair of pairs) {
          const reasons = await Promise.all(pair.members.map(readyReason));
          const loserAt = reasons.indexOf('DuplicateImageShare');
          const winnerAt = reasons.indexOf('Synced');
          if (loserAt < 0 || winnerAt < 0)
            throw new Error(`${pair.imageId}: ${reasons.join(', ')} (want one Synced, one DuplicateImageShare)`);
          out.push({ pair, winner: pair.members[winnerAt] as Member, loser: pair.members[loserAt] as Member });
        }
        return out;
      },
      { timeoutMs: 45_000 },
    );
    sampling = false;
    await sampler;

    const granted = await grantedEver();
    for (const { pair, winner, loser } of verdicts) {
      expect({ image: pair.imageId, seen: [...(seen.get(pair.imageId) ?? [])].sort() }).toEqual({
        image: pair.imageId,
        seen: winner.accounts,
      });
      expect({ image: pair.imageId, granted: [...(granted.get(pair.imageId) ?? [])].sort() }).toEqual({
        image: pair.imageId,
        granted: winner.accounts,
      });
      expect((await getJson<ImageShare>('imageshare', loser.ns, loser.name)).status?.managedAccounts ?? []).toEqual([]);
    }

    // Deleting each loser (Revoke) leaves nothing of its own shared, and the winner's grants where they were.
    await Promise.all(
      verdicts.map(({ loser }) =>
        kubectl(['delete', 'imageshare', loser.name, '-n', loser.ns, '--wait=true', '--timeout=60s']),
      ),
    );
    for (const { pair, winner } of verdicts) expect((await sharedIn(pair.imageId)).sort()).toEqual(winner.accounts);
  }, 120_000);
});

describe('status writes on the real apiserver', () => {
  it('a write from a stale read is refused as a conflict (resourceVersion precondition), so the writer re-reads and merges', async () => {
    const ns = namespaces[0] as string;
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name: 'stale-writer', namespace: ns },
      spec: { regionId: REGION, imageId: 'm-notinworld01', suspend: true },
    });
    const store = reconcileStore(new ImageShareClient(adminKubeConfig()), () => []);
    const stale = (await store.get(ns, 'stale-writer')) as ImageShare;
    const fresh = (await store.get(ns, 'stale-writer')) as ImageShare;
    const first = await store.patchStatus(fresh, { managedAccounts: [account(60)] }); // the new leader's record
    expect(typeof first === 'object' && first.resourceVersion !== stale.metadata.resourceVersion).toBe(true);
    expect(await store.patchStatus(stale, { managedAccounts: [] })).toBe('conflict'); // the deposed leader's
    const onServer = await getJson<ImageShare>('imageshare', ns, 'stale-writer');
    expect(onServer.status?.managedAccounts).toEqual([account(60)]);
  });
});

describe('two installations whose --namespaces overlap', () => {
  it('only one reconciles an object both watch: one grant, its ID in status; the other leaves the object alone', async () => {
    const [shared, onlyY] = await Promise.all([createNamespace('overlap'), createNamespace('overlap-y')]);
    const start = (installation: string, watched: string[]) =>
      startOperator({
        kubeconfig: testState().kubeconfigPath,
        ecsEndpoint: emu.endpoint,
        ...OWNER_KEY,
        namespaces: watched,
        extraArgs: ['--resync-interval', '10m', '--installation-id', installation],
      });
    const [opX, opY] = await Promise.all([start('inst-x', [shared]), start('inst-y', [shared, onlyY])]);
    more.push(opX, opY);
    await applyYaml(
      manifest(
        { imageId: OVERLAP_IMAGE, members: [] as unknown as Pair['members'] },
        {
          ns: shared,
          name: 'golden',
          accounts: [account(70)],
        },
      ),
    );
    const o = await eventually(
      async () => {
        const got = await getJson<ImageShare>('imageshare', shared, 'golden');
        const ready = got.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.reason !== 'Synced') throw new Error(`golden: ${ready?.reason} ${ready?.message ?? ''}`);
        return got;
      },
      { timeoutMs: 30_000 },
    );
    const owner = o.status?.installation;
    expect(['inst-x', 'inst-y']).toContain(owner);
    const other = owner === 'inst-x' ? opY : opX;
    // Ask both for a pass (the reconcile-requested-at annotation) a few times: the other one never writes.
    for (let i = 0; i < 3; i++) {
      await kubectl([
        'annotate',
        '--overwrite',
        'imageshare',
        'golden',
        '-n',
        shared,
        `ecs.alicloud.dev/reconcile-requested-at=${Date.now()}`,
      ]);
      await new Promise((r) => setTimeout(r, 500));
    }
    const key = `${shared}/golden`;
    await eventually(
      async () => {
        const passes = other.logs().filter((l) => l.key === key && l.msg === 'reconciled');
        if (!passes.some((l) => l.reason === 'OtherInstallation')) throw new Error('no OtherInstallation pass yet');
      },
      { timeoutMs: 15_000 },
    );
    const grants = (await emu.admin.calls()).calls.filter(
      (c) => c.imageId === OVERLAP_IMAGE && c.action === 'ModifyImageSharePermission' && c.code === 'OK',
    );
    expect(grants).toHaveLength(1);
    expect((await getJson<ImageShare>('imageshare', shared, 'golden')).status?.installation).toBe(owner);
    expect((await sharedIn(OVERLAP_IMAGE)).sort()).toEqual([account(70)]);
  }, 90_000);
});
