// spec.enforcement of ImageSharePolicy (docs/adr/0030, amendment) on the real stack: the operator process (under the
// chart's RBAC), a kube-apiserver of this file's own (ImageSharePolicies are cluster-scoped) and the ECS emulator
// behind the unmodified SDK. Two objects each share accounts 1 and 2; an admin edits each namespace's policy to drop
// account 2. With enforcement Revoke the denied object revokes what it granted (both accounts: the whole object is
// denied) within seconds and says so; with Report (the default) both grants stay and are reported.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { ImageSharePolicy } from '../../src/api/policy-types.ts';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
import { eventually } from '../harness/eventually.ts';
import { KubeCli } from '../harness/kube-cli.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { account, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const CRDS = new URL('../../crds/', import.meta.url).pathname;
const REVOKE_NS = 'enforce-revoke';
const REPORT_NS = 'enforce-report';
const REVOKE_IMAGE = 'm-polenfrc001';
const REPORT_IMAGE = 'm-polenfrp001';
/** "Within seconds": the watch re-queues at once; the bound only keeps a broken watch from hanging the test. */
const EDIT_MS = 15_000;

const policy = (name: string): ImageSharePolicy => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageSharePolicy',
  metadata: { name },
  spec: {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
    credentials: { operatorIdentity: true },
    recipients: { accounts: [account(1), account(2)] },
  },
});

let cp: ControlPlane;
let kube: KubeCli;
let tmp: string;
let emu: Emulator;
let op: OperatorProcess | undefined;

const apply = async (obj: object): Promise<void> => {
  await kube.run(['apply', '-f', '-'], { input: stringify(obj) });
};
const imageShare = (ns: string, spec: Partial<ImageShareSpec> & { imageId: string }) => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name: 'share', namespace: ns },
  spec: { regionId: REGION, ...spec },
});
const get = (ns: string) => kube.getJson<ImageShare>('imageshare', ns, 'share');
const ready = (o: ImageShare) => o.status?.conditions?.find((c) => c.type === 'Ready');
const sharedWith = async (imageId: string) =>
  (await emu.admin.image(REGION, imageId)).sharedWith.map((a) => a.id).sort();
/** Every ECS call about the image (reads too), for the quiet window: a settled object's next pass is its resync. */
const callsFor = async (imageId: string) => (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId).length;
/** The quiet window: 30 s tells a loop of passes (several a second) from a resync (10 minutes). */
const QUIET_MS = 30_000;

const writesFor = async (imageId: string) =>
  (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId && c.action === 'ModifyImageSharePermission')
    .length;

async function waitReason(ns: string, reason: string, text = '', timeoutMs = 45_000) {
  return eventually(
    async () => {
      const o = await get(ns);
      const r = ready(o);
      if (r?.reason !== reason || !r.message.includes(text)) throw new Error(`${ns}: ${r?.reason} ${r?.message ?? ''}`);
      return o;
    },
    { timeoutMs },
  );
}

async function dropAccount2(name: string, enforcement?: 'Revoke'): Promise<void> {
  const spec = { recipients: { accounts: [account(1)] }, ...(enforcement ? { enforcement } : {}) };
  await kube.run(['patch', 'imagesharepolicy', name, '--type=merge', '-p', JSON.stringify({ spec })]);
}

beforeAll(async () => {
  cp = await startControlPlane();
  tmp = await mkdtemp(join(tmpdir(), 'policy-enforce-'));
  kube = new KubeCli(join(cp.binDir, 'kubectl'), cp.kubeconfigPath, join(tmp, 'cache'));
  await kube.run(['apply', '-f', CRDS]);
  await kube.run(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRDS]);
  emu = await startEmulator({ seed: operatorWorld([REVOKE_IMAGE, REPORT_IMAGE]) });
  const kubeconfig = await operatorUserKubeconfig(cp, 'isop-system', {
    watchNamespaces: [REVOKE_NS, REPORT_NS],
    leaderElection: false,
  });
  for (const name of [REVOKE_NS, REPORT_NS]) await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await kube.run(['apply', '-f', '-'], {
    input: [policy(REVOKE_NS), policy(REPORT_NS)].map((p) => stringify(p)).join('---\n'),
  });
  // Open tenancy mode: the policies that select a namespace still apply (docs/tenancy.md).
  op = await startOperator({ kubeconfig, ecsEndpoint: emu.endpoint, ...OWNER_KEY, namespaces: [REVOKE_NS, REPORT_NS] });
  await apply(imageShare(REVOKE_NS, { imageId: REVOKE_IMAGE, accounts: [account(1), account(2)] }));
  await apply(imageShare(REPORT_NS, { imageId: REPORT_IMAGE, accounts: [account(1), account(2)] }));
  await Promise.all([waitReason(REVOKE_NS, 'Synced'), waitReason(REPORT_NS, 'Synced')]);
}, 180_000);

afterAll(async () => {
  await op?.stop();
  await emu?.close();
  await cp?.stop();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('a policy edit with enforcement', () => {
  it('Revoke: within seconds the denied object revokes both its grants and is Stalled/PolicyDenied saying so', async () => {
    expect(await sharedWith(REVOKE_IMAGE)).toEqual([account(1), account(2)]);
    await dropAccount2(REVOKE_NS, 'Revoke');
    const o = await waitReason(REVOKE_NS, 'PolicyDenied', 'enforces (enforcement: Revoke)', EDIT_MS);
    expect(ready(o)?.message).toContain(`ImageSharePolicy ${REVOKE_NS} denies rule recipients.accounts`);
    // The pass that revoked says how many; a later pass, with nothing left, says so instead. The event keeps the count.
    const events = JSON.parse(
      (await kube.run(['get', 'events.events.k8s.io', '-n', REVOKE_NS, '-o', 'json'])).stdout,
    ) as {
      items: Array<{ reason: string; type: string; note: string }>;
    };
    const denial = events.items.find((e) => e.reason === 'PolicyDenied');
    expect(denial).toMatchObject({ type: 'Warning' });
    expect(denial?.note).toContain(
      `This object revoked 2 account(s) because ImageSharePolicy ${REVOKE_NS} enforces (enforcement: Revoke)`,
    );
    expect(o.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    // B is revoked, and A too: the object as a whole is denied, so everything it granted goes.
    expect(await sharedWith(REVOKE_IMAGE)).toEqual([]);
    expect(o.status?.managedAccounts ?? []).toEqual([]);
    // Nothing is granted again afterwards, and the enforced object settles: over 30 s at most one late pass (its
    // two reads and the owner-tag read) may still reach ECS, never a loop of passes.
    const writes = await writesFor(REVOKE_IMAGE);
    const calls = await callsFor(REVOKE_IMAGE);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(await writesFor(REVOKE_IMAGE)).toBe(writes);
    expect((await callsFor(REVOKE_IMAGE)) - calls).toBeLessThanOrEqual(3);
    expect(await sharedWith(REVOKE_IMAGE)).toEqual([]);
  }, 120_000);

  it('Report (the default): the same edit leaves both grants shared and reports them', async () => {
    const writes = await writesFor(REPORT_IMAGE);
    await dropAccount2(REPORT_NS);
    const o = await waitReason(REPORT_NS, 'PolicyDenied', '', EDIT_MS);
    expect(ready(o)?.message).toContain('the 2 account(s) this object shared with (status.managedAccounts) stay');
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await writesFor(REPORT_IMAGE)).toBe(writes);
    expect(await sharedWith(REPORT_IMAGE)).toEqual([account(1), account(2)]);
    expect((await get(REPORT_NS)).status?.managedAccounts).toEqual([account(1), account(2)]);
  });
});
