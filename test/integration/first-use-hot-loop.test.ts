// The first-use hot loop of issue 14 on the real stack (operator process, real kube-apiserver, ECS emulator behind
// the unmodified SDK): an object with deletionPolicy Revoke whose first exposing write ECS refuses. Before, the
// finalizer went on for the intent and came off after the refusal, each flip woke the object, and 149
// ModifyImageSharePermission calls were seen in 30 s. Now the object settles Stalled and then stays still.
//
// The quiet window is 30 s: the loop ran at about 5 calls/s, so 30 s tells ~150 calls from the at most one pass
// (3 calls) a late wake-up may still cause; a Stalled object's next pass is its 10-minute resync. A duplicate under
// Revoke (Stalled/DuplicateImageShare) must be just as still: no ECS call at all.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FINALIZER, type ImageShare, type ImageShareSpec } from '../../src/api/types.ts';
import { DEFAULT_RETRY } from '../../src/cloud/retry.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { account, NO_AGREEMENT_KEY, OWNER_KEY, operatorWorld, REGION, UNKNOWN_ACCOUNT } from './operator-world.ts';

/** Owned by the operator's identity; every account the object names is unknown to ECS. */
const GRANT_IMAGE = 'm-hotgrant0001';
/** Owned by an account that has not signed the community image agreement (operator-world.ts). */
const PUBLISH_IMAGE = 'm-noagree00001';
/** Still Creating: ECS refuses the publish with IncorrectImageStatus, a retryable refusal. */
const CREATING_IMAGE = 'm-creating0001';
/** Named by two objects: the older owns it, the younger is a duplicate. */
const DUP_IMAGE = 'm-hotdupl00001';
/** Passes the queue's backoff (1 s doubling, src/runtime/rate-limiter.ts) allows in QUIET_MS, with margin. */
const BACKOFF_PASSES = 6;
/** A pass whose write ECS refuses retryably: the two reads, and the write tried up to maxAttempts times. */
const RETRIED_PASS = 2 + DEFAULT_RETRY.maxAttempts;
const UNKNOWN_2 = '4000000000000002';
const QUIET_MS = 30_000;
/** One pass: DescribeImages, DescribeImageSharePermission and the refused write. */
const ONE_PASS = 3;

let emu: Emulator;
let op: OperatorProcess;
let ns: string;

interface Window {
  calls: number;
  writes: number;
  passes: number;
  rvBefore: string | undefined;
  rvAfter: string | undefined;
  finalizersAfter: string[];
}
const windows = new Map<string, Window>();
const firstCalls = new Map<string, number>();

async function apply(name: string, spec: Partial<ImageShareSpec> & { imageId: string }): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: REGION, deletionPolicy: 'Revoke', ...spec },
  });
}
const get = (name: string) => getJson<ImageShare>('imageshare', ns, name);
const callsFor = async (imageId: string) => (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId);
const writesIn = (calls: Array<{ action: string }>) =>
  calls.filter((c) => c.action === 'ModifyImageSharePermission').length;
const passes = (name: string) => op.logs().filter((l) => l.key === `${ns}/${name}` && l.msg === 'reconciled').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReason(name: string, reason: string): Promise<ImageShare> {
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

beforeAll(async () => {
  ns = await createNamespace('hotloop');
  const seed = operatorWorld([GRANT_IMAGE, CREATING_IMAGE, DUP_IMAGE]);
  const images = (seed.images ?? []).map((i) => (i.id === CREATING_IMAGE ? { ...i, status: 'Creating' as const } : i));
  emu = await startEmulator({ seed: { ...seed, images } });
  await applyYaml({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'noagree', namespace: ns },
    stringData: NO_AGREEMENT_KEY,
  });
  op = await startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--resync-interval', '10m'],
  });

  await apply('unknown-accounts', { imageId: GRANT_IMAGE, accounts: [UNKNOWN_ACCOUNT, UNKNOWN_2] });
  await apply('refused-publish', {
    imageId: PUBLISH_IMAGE,
    community: true,
    credentials: { secretRef: { name: 'noagree' } },
  });
  await apply('creating-publish', { imageId: CREATING_IMAGE, community: true });
  await apply('dup-owner', { imageId: DUP_IMAGE, accounts: [account(71)] });
  await waitReason('dup-owner', 'Synced');
  await apply('dup-loser', { imageId: DUP_IMAGE, accounts: [account(72)] });
  await Promise.all([
    waitReason('dup-loser', 'DuplicateImageShare'),
    waitReason('unknown-accounts', 'AccountsFailed'),
    waitReason('refused-publish', 'CommunityAgreementNotSigned'),
    waitReason('creating-publish', 'ImageNotAvailable'),
  ]);
  // Let the wake-up caused by the operator's own first writes run, then watch every object for QUIET_MS.
  await sleep(2_000);
  const targets = [
    ['unknown-accounts', GRANT_IMAGE],
    ['refused-publish', PUBLISH_IMAGE],
    ['creating-publish', CREATING_IMAGE],
    ['dup-loser', DUP_IMAGE],
  ] as const;
  const start = await Promise.all(
    targets.map(async ([name, image]) => ({
      calls: (await callsFor(image)).length,
      passes: passes(name),
      rv: (await get(name)).metadata.resourceVersion,
    })),
  );
  for (const [i, [, image]] of targets.entries()) firstCalls.set(image, start[i]?.calls ?? 0);
  await sleep(QUIET_MS);
  for (const [i, [name, image]] of targets.entries()) {
    const all = await callsFor(image);
    const before = start[i];
    const o = await get(name);
    windows.set(name, {
      calls: all.length - (before?.calls ?? 0),
      writes: writesIn(all.slice(before?.calls ?? 0)),
      passes: passes(name) - (before?.passes ?? 0),
      rvBefore: before?.rv,
      rvAfter: o.metadata.resourceVersion,
      finalizersAfter: o.metadata.finalizers ?? [],
    });
  }
}, 180_000);

afterAll(async () => {
  await op?.stop();
  await emu?.close();
});

describe('a first exposing write ECS refuses, under deletionPolicy Revoke', () => {
  it('every account unknown: Stalled naming the accounts, then no ECS call, no pass and no object write for 30 s', async () => {
    const o = await get('unknown-accounts');
    const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.message).toContain(UNKNOWN_ACCOUNT);
    expect(o.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    const w = windows.get('unknown-accounts');
    expect(w?.calls).toBeLessThanOrEqual(ONE_PASS);
    // Getting there took a handful of calls, not a loop.
    expect(firstCalls.get(GRANT_IMAGE)).toBeLessThanOrEqual(3 * ONE_PASS);
    expect(w?.writes).toBeLessThanOrEqual(1);
    expect(w?.passes).toBeLessThanOrEqual(1);
    // The finalizer neither came off nor went back on: the object was not written at all.
    expect(w?.rvAfter).toBe(w?.rvBefore);
    expect(w?.finalizersAfter).toEqual([FINALIZER]);
  });

  it('a publish refused for the unsigned agreement: Stalled with that reason, then just as still', async () => {
    const o = await get('refused-publish');
    expect(o.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    expect(o.status?.managedCommunity).toBe(false);
    const w = windows.get('refused-publish');
    expect(w?.calls).toBeLessThanOrEqual(ONE_PASS);
    expect(firstCalls.get(PUBLISH_IMAGE)).toBeLessThanOrEqual(3 * ONE_PASS);
    expect(w?.writes).toBeLessThanOrEqual(1);
    expect(w?.rvAfter).toBe(w?.rvBefore);
    expect(w?.finalizersAfter).toEqual([FINALIZER]);
    expect((await emu.admin.image(REGION, PUBLISH_IMAGE)).community).toBe(false);
  });

  it('a publish refused while the image is Creating: retried at the backoff, not at once, and the finalizer stays', async () => {
    const o = await get('creating-publish');
    expect(o.status?.conditions?.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    const w = windows.get('creating-publish');
    // A retryable refusal is retried, but only as often as the backoff allows; a flip would re-queue at once.
    expect(w?.passes).toBeLessThanOrEqual(BACKOFF_PASSES);
    // Calls are counted by time and passes by their end: a pass still running when the window closes adds its calls.
    expect(w?.calls).toBeLessThanOrEqual(((w?.passes ?? 0) + 1) * RETRIED_PASS);
    expect(w?.finalizersAfter).toEqual([FINALIZER]);
    expect((await emu.admin.image(REGION, CREATING_IMAGE)).community).toBe(false);
  });

  it('a duplicate under Revoke: Stalled naming the owner, then no ECS call and no object write for 30 s', async () => {
    const o = await get('dup-loser');
    expect(o.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('dup-owner');
    const w = windows.get('dup-loser');
    // The image's calls in the window: the owner is settled too (its resync is 10 minutes), the loser calls nothing.
    expect(w?.calls).toBe(0);
    expect(w?.passes).toBeLessThanOrEqual(1);
    expect(w?.rvAfter).toBe(w?.rvBefore);
    expect((await emu.admin.image(REGION, DUP_IMAGE)).sharedWith ?? []).not.toContain(account(72));
  });

  it('deleting an object that owns nothing is immediate and writes nothing to ECS', async () => {
    const before = writesIn(await callsFor(GRANT_IMAGE));
    await kubectl(['delete', 'imageshare', 'unknown-accounts', '-n', ns, '--wait=true', '--timeout=30s']);
    expect(writesIn(await callsFor(GRANT_IMAGE))).toBe(before);
  });
});
