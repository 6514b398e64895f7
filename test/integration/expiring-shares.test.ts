// Shares that expire on the real stack (operator process, real kube-apiserver, ECS emulator behind the unmodified
// SDK): an account given until a few seconds from now is shared, then revoked at the first pass after its end
// (the pass comes back at the expiry, not at the 10-minute resync), and status says Expired with the time. An entry
// already past its end when applied is never granted. The emulator's share list is the judge.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { account, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const IMAGE = 'm-expiring0001';
const PERMANENT = account(61);
const VENDOR = account(62);
const LAPSED = account(63);
/** How far ahead the vendor's access ends: long enough for the first pass to grant it on a loaded machine. */
const AHEAD_MS = 15_000;

let emu: Emulator;
let op: OperatorProcess;
let ns: string;
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const shared = async () => (await emu.admin.image(REGION, IMAGE)).sharedWith.map((s) => s.id).sort();
const outcome = (o: ImageShare, id: string) => o.status?.accounts?.find((a) => a.id === id);

beforeAll(async () => {
  ns = await createNamespace('expiry');
  emu = await startEmulator({ seed: operatorWorld([IMAGE]) });
  op = await startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--resync-interval', '10m'],
  });
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await emu?.close();
});

it('grants an account until its end, revokes it at the end without waiting for the resync, and reports Expired', async () => {
  const ends = Date.now() + AHEAD_MS;
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name: 'vendor-week', namespace: ns },
    spec: {
      regionId: REGION,
      imageId: IMAGE,
      accounts: [PERMANENT],
      expiringAccounts: [
        { id: VENDOR, expiresAt: rfc3339(ends) },
        { id: LAPSED, expiresAt: rfc3339(Date.now() - 60_000) },
      ],
    },
  });
  const during = await eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, 'vendor-week');
      if (outcome(o, VENDOR)?.state !== 'Shared') throw new Error(JSON.stringify(o.status?.accounts));
      return o;
    },
    { timeoutMs: AHEAD_MS },
  );
  expect(await shared()).toEqual([PERMANENT, VENDOR]);
  expect(outcome(during, VENDOR)).toMatchObject({ expiresAt: rfc3339(ends) });
  expect(outcome(during, LAPSED)).toMatchObject({ state: 'Expired' });

  const after = await eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, 'vendor-week');
      if (outcome(o, VENDOR)?.state !== 'Expired') throw new Error(JSON.stringify(o.status?.accounts));
      return o;
    },
    { timeoutMs: AHEAD_MS + 20_000 },
  );
  expect(await shared()).toEqual([PERMANENT]);
  expect(outcome(after, VENDOR)).toMatchObject({ state: 'Expired', expiresAt: rfc3339(ends) });
  expect(after.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
  // The lapsed entry was never sent to ECS; the vendor was granted once and revoked once.
  const writes = (await emu.admin.calls()).calls.filter(
    (c) => c.action === 'ModifyImageSharePermission' && c.code === 'OK',
  );
  const named = writes.flatMap((c) =>
    Object.entries(c.params)
      .filter(([k]) => /Account\.\d+$/.test(k))
      .map(([k, v]) => `${k.split('.')[0]} ${String(v)}`),
  );
  expect(named.filter((n) => n.endsWith(LAPSED))).toEqual([]);
  expect(named.filter((n) => n.endsWith(VENDOR)).sort()).toEqual([`AddAccount ${VENDOR}`, `RemoveAccount ${VENDOR}`]);
}, 120_000);
