import { afterAll, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { LeaderElector } from '../../src/runtime/leader-election.ts';
import { KubeLeaseStore } from '../../src/kube/lease-store.ts';
import { eventually } from '../harness/eventually.ts';
import { createNamespace } from '../harness/kubectl.ts';
import { adminKubeConfig } from './runtime-fixtures.ts';

// Short but valid timings (lease 3 s > deadline 2 s > 1.2 × retry 0.5 s) so takeovers happen within seconds.
const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
const electors: LeaderElector[] = [];

afterAll(() => {
  for (const e of electors) e.stop();
});

function candidate(ns: string, identity: string) {
  const events: string[] = [];
  const e = new LeaderElector({
    ...timings,
    store: new KubeLeaseStore(adminKubeConfig(), ns, 'imageshare-operator'),
    identity,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
  });
  electors.push(e);
  return { e, events, done: e.run() };
}

async function readLease(ns: string) {
  return adminKubeConfig()
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'imageshare-operator', namespace: ns });
}

describe('LeaderElector with KubeLeaseStore on a real Lease', () => {
  it('only one of two candidates leads; the other takes over after release, and after a crash once the lease expires', async () => {
    const ns = await createNamespace('rt-lease');
    const a = candidate(ns, 'replica-a');
    await eventually(async () => expect(a.e.isLeader()).toBe(true));
    const b = candidate(ns, 'replica-b');

    // Several renew periods pass: b keeps observing a's renewals and never takes over.
    const firstRenew = JSON.stringify((await readLease(ns)).spec?.renewTime);
    await eventually(async () => expect(JSON.stringify((await readLease(ns)).spec?.renewTime)).not.toBe(firstRenew));
    await eventually(async () => expect(b.e.observedLeader()).toBe('replica-a'));
    const renewed = await readLease(ns);
    expect(renewed.spec?.holderIdentity).toBe('replica-a');
    expect(b.e.isLeader()).toBe(false);
    expect(b.events).toEqual([]);
    // MicroTime fields round-trip with six fraction digits.
    expect(JSON.stringify(renewed.spec?.renewTime)).toMatch(/\.\d{6}Z/);

    expect(await a.e.release()).toBe(true);
    await a.done;
    expect(a.events).toEqual(['started', 'stopped:stopped']);
    await eventually(async () => expect(b.e.isLeader()).toBe(true));
    const afterRelease = await readLease(ns);
    expect(afterRelease.spec).toMatchObject({
      holderIdentity: 'replica-b',
      leaseTransitions: 1,
      leaseDurationSeconds: 3,
    });

    // b crashes (stops renewing, no release); c waits for expiry by its own observation, then takes over.
    const c = candidate(ns, 'replica-c');
    b.e.stop();
    await b.done;
    await eventually(async () => expect(c.e.isLeader()).toBe(true), { timeoutMs: 20_000 });
    expect((await readLease(ns)).spec).toMatchObject({ holderIdentity: 'replica-c', leaseTransitions: 2 });
    c.e.stop();
    await c.done;
  });
});
