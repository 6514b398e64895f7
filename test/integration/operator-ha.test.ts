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
  emu = await startEmulator({
    seed: operatorWorld(['m-restart0001', 'm-leader00001', 'm-leader00002', 'm-lostlease01', 'm-sigterm0001']),
  });
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
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace },
    spec: { regionId: REGION, imageId, accounts: wanted },
  });
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
  (await emu.admin.calls()).calls.filter(
    (c) => c.imageId === imageId && c.action === 'ModifyImageSharePermission' && c.code === 'OK',
  );
const reconciled = (op: OperatorProcess) => op.logs().filter((l) => l.msg === 'reconciled').length;
const leads = (op: OperatorProcess) => op.logs().some((l) => l.msg === 'starting controller');

describe('operator restart', () => {
  it('a SIGKILL mid-plan converges after restart, and no account is granted twice', async () => {
    const ns = await createNamespace('restart');
    // Each share call takes 1.5 s, so the 4-call plan is still running when the operator dies.
    await emu.admin.addFault({
      type: 'latency',
      ms: 1500,
      action: 'ModifyImageSharePermission',
      imageId: 'm-restart0001',
    });
    const first = await operator([ns]);
    await apply(ns, 'restart', 'm-restart0001', accounts(1, 40));
    await eventually(async () => expect((await misp('m-restart0001')).length).toBeGreaterThanOrEqual(1), {
      timeoutMs: 30_000,
    });
    await first.kill();
    const grantedBeforeCrash = (await misp('m-restart0001')).length;
    expect(grantedBeforeCrash).toBeLessThan(4);
    // Let a call that was in flight at the kill land before the new process observes.
    await new Promise((r) => setTimeout(r, 2000));
    const second = await operator([ns]);
    await waitSynced(ns, 'restart');
    const added = (await misp('m-restart0001')).flatMap((c) =>
      Object.entries(c.params)
        .filter(([k]) => k.startsWith('AddAccount.'))
        .map(([, v]) => String(v)),
    );
    expect(added.sort()).toEqual(accounts(1, 40));
    expect((await emu.admin.image(REGION, 'm-restart0001')).sharedWith.map((s) => s.id).sort()).toEqual(
      accounts(1, 40),
    );
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
    expect(
      (await kubectl(['get', 'lease', 'imageshare-operator', '-n', ns, '-o', 'jsonpath={.spec.holderIdentity}']))
        .stdout,
    ).toBe(leaderName);

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

/** Fast election timings, so a loss is detected within seconds. */
const FAST = [
  '--leader-election-lease-duration',
  '4s',
  '--leader-election-renew-deadline',
  '3s',
  '--leader-election-retry-period',
  '500ms',
];
const electArgs = (ns: string, pod: string, extra: string[] = []) => [
  '--leader-elect',
  '--leader-election-namespace',
  ns,
  '--pod-name',
  pod,
  ...FAST,
  ...extra,
];
const lease = async (ns: string) =>
  JSON.parse((await kubectl(['get', 'lease', 'imageshare-operator', '-n', ns, '-o', 'json'])).stdout) as {
    spec: { holderIdentity?: string; renewTime?: string };
  };
const microNow = () => new Date().toISOString().replace('Z', '000Z');
const inFlight = async (imageId: string) =>
  (await emu.admin.calls()).calls.some((c) => c.imageId === imageId && c.action === 'ModifyImageSharePermission');

describe('lifecycle: one writer at any moment (issue #8)', () => {
  it('on lost leadership the leader aborts in-flight passes and exits 1 at once, without draining', async () => {
    const ns = await createNamespace('lost');
    // Every share call takes 4 s: a pass is in flight when the lease is taken away.
    await emu.admin.addFault({
      type: 'latency',
      ms: 4000,
      action: 'ModifyImageSharePermission',
      imageId: 'm-lostlease01',
    });
    const a = await operator([ns], electArgs(ns, 'replica-a'));
    await eventually(async () => expect(leads(a)).toBe(true));
    await apply(ns, 'lost', 'm-lostlease01', accounts(1, 30));
    // The first grant landed, so the second one is now waiting on its latency.
    await eventually(async () => expect(await inFlight('m-lostlease01')).toBe(true), { timeoutMs: 30_000 });
    // Another holder takes the Lease (as a standby would after a partition): A's renewals now fail.
    const stolenAt = Date.now();
    await kubectl([
      'patch',
      'lease',
      'imageshare-operator',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { holderIdentity: 'thief', renewTime: microNow(), leaseDurationSeconds: 3600 } }),
    ]);
    const code = await a.exited;
    const exitAfterMs = Date.now() - stolenAt;
    await emu.admin.clearFaults();
    expect(code).toBe(1);
    // renewDeadline (3 s) plus a retry period, with room for a loaded machine; the old behaviour drained for 25 s.
    expect(exitAfterMs).toBeLessThan(15_000);
    const lost = a.logs().find((l) => l.msg === 'leader election lost; aborting in-flight reconciles and exiting');
    expect(lost?.inFlight).toBe(1);
    expect(a.logs().some((l) => l.msg === 'released leader lease')).toBe(false);
    expect((await lease(ns)).spec.holderIdentity).toBe('thief');
  }, 90_000);

  it('on SIGTERM an in-flight pass finishes and only then is the Lease released; exit 0', async () => {
    const ns = await createNamespace('sigterm');
    // 25 accounts = 3 share calls of 2 s each: SIGTERM arrives in the middle of the pass.
    await emu.admin.addFault({
      type: 'latency',
      ms: 2000,
      action: 'ModifyImageSharePermission',
      imageId: 'm-sigterm0001',
    });
    const a = await operator([ns], electArgs(ns, 'replica-a', ['--graceful-shutdown-timeout', '20s']));
    await eventually(async () => expect(leads(a)).toBe(true));
    await apply(ns, 'term', 'm-sigterm0001', accounts(1, 25));
    await eventually(async () => expect(await inFlight('m-sigterm0001')).toBe(true), { timeoutMs: 30_000 });
    expect(await a.stop(30_000)).toBe(0);
    await emu.admin.clearFaults();
    const writes = await misp('m-sigterm0001');
    // The pass was not cut short: every account was granted before the process exited.
    expect((await emu.admin.image(REGION, 'm-sigterm0001')).sharedWith.map((x) => x.id).sort()).toEqual(
      accounts(1, 25),
    );
    const l = await lease(ns);
    expect(l.spec.holderIdentity ?? '').toBe('');
    // The release is stamped after the last cloud write of the pass landed.
    const lastWrite = Math.max(...writes.map((c) => Date.parse(c.at)));
    expect(Date.parse(l.spec.renewTime ?? '')).toBeGreaterThanOrEqual(lastWrite);
    const logs = a.logs().map((x) => x.msg);
    expect(logs.indexOf('released leader lease')).toBeGreaterThan(logs.lastIndexOf('reconciled'));
  }, 90_000);
});
