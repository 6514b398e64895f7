// Crash and high-availability behaviour of the real operator process: a SIGKILL in the middle of a long plan, and
// two replicas behind a Lease.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { addTestUser, testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { accounts, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

let emu: Emulator;
const running: OperatorProcess[] = [];

beforeAll(async () => {
  emu = await startEmulator({ seed: operatorWorld(['m-restart0001', 'm-leader00001', 'm-leader00002']) });
});

afterAll(async () => {
  await Promise.all(running.map((o) => o.stop()));
  await emu?.close();
});

/** An operator for `namespaces`, running under the chart's RBAC with its release (and Lease) in namespaces[0]. */
async function operator(namespaces: string[], extraArgs: string[] = []): Promise<OperatorProcess> {
  const kubeconfig = await operatorUserKubeconfig({ ...testState(), addUser: addTestUser }, namespaces[0] ?? 'default');
  const op = await startOperator({ kubeconfig, ecsEndpoint: emu.endpoint, ...OWNER_KEY, namespaces, extraArgs });
  running.push(op);
  return op;
}

async function apply(namespace: string, name: string, imageId: string, wanted: string[]): Promise<void> {
  await applyYaml({ apiVersion: 'ecs.alicloud.dev/v1alpha1', kind: 'ImageShare', metadata: { name, namespace }, spec: { regionId: REGION, imageId, accounts: wanted } });
}

async function waitSynced(namespace: string, name: string): Promise<void> {
  await eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', namespace, name);
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.reason !== 'Synced') throw new Error(`not synced: ${ready?.reason}`);
    },
    { timeoutMs: 60_000 },
  );
}

const misp = async (imageId: string) =>
  (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId && c.action === 'ModifyImageSharePermission' && c.code === 'OK');
const reconciled = (op: OperatorProcess) => op.logs().filter((l) => l.msg === 'reconciled').length;
const leads = (op: OperatorProcess) => op.logs().some((l) => l.msg === 'starting controller');

describe('operator restart', () => {
  it('a SIGKILL mid-plan converges after restart, and no account is granted twice', async () => {
    const ns = await createNamespace('restart');
    // Each share call takes 1.5 s, so the 4-call plan is still running when the operator dies.
    await emu.admin.addFault({ type: 'latency', ms: 1500, action: 'ModifyImageSharePermission', imageId: 'm-restart0001' });
    const first = await operator([ns]);
    await apply(ns, 'restart', 'm-restart0001', accounts(1, 40));
    await eventually(async () => expect((await misp('m-restart0001')).length).toBeGreaterThanOrEqual(1), { timeoutMs: 30_000 });
    await first.kill();
    const grantedBeforeCrash = (await misp('m-restart0001')).length;
    expect(grantedBeforeCrash).toBeLessThan(4);
    // Let a call that was in flight at the kill land before the new process observes.
    await new Promise((r) => setTimeout(r, 2000));
    const second = await operator([ns]);
    await waitSynced(ns, 'restart');
    const added = (await misp('m-restart0001')).flatMap((c) => Object.entries(c.params).filter(([k]) => k.startsWith('AddAccount.')).map(([, v]) => String(v)));
    expect(added.sort()).toEqual(accounts(1, 40));
    expect((await emu.admin.image(REGION, 'm-restart0001')).sharedWith.map((s) => s.id).sort()).toEqual(accounts(1, 40));
    await emu.admin.clearFaults();
    expect(await second.stop()).toBe(0);
  }, 120_000);
});

describe('leader election', () => {
  it('with two replicas only the leader reconciles, and the other takes over when it steps down', async () => {
    const ns = await createNamespace('ha');
    const args = (pod: string) => ['--leader-elect', '--leader-election-namespace', ns, '--pod-name', pod];
    const a = await operator([ns], args('replica-a'));
    const b = await operator([ns], args('replica-b'));
    await eventually(async () => expect(leads(a) || leads(b)).toBe(true));
    const [leader, follower] = leads(a) ? [a, b] : [b, a];
    const leaderName = leader === a ? 'replica-a' : 'replica-b';
    expect((await kubectl(['get', 'lease', 'imageshare-operator', '-n', ns, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout).toBe(leaderName);

    await apply(ns, 'first', 'm-leader00001', accounts(1, 3));
    await waitSynced(ns, 'first');
    expect(reconciled(leader)).toBeGreaterThan(0);
    expect(reconciled(follower)).toBe(0);
    expect(leads(follower)).toBe(false);
    expect(await follower.metrics()).toMatch(/imageshare_leader_status 0/);

    expect(await leader.stop()).toBe(0);
    await eventually(async () => expect(leads(follower)).toBe(true), { timeoutMs: 30_000 });
    await apply(ns, 'second', 'm-leader00002', accounts(4, 2));
    await waitSynced(ns, 'second');
    expect(reconciled(follower)).toBeGreaterThan(0);
    expect(await follower.metrics()).toMatch(/imageshare_leader_status 1/);
  }, 120_000);
});
