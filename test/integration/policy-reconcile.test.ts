// The reconcile-time tenancy check (docs/adr/0024, 0030) on the real stack, with NO admission policy installed: the
// operator process (under the chart's RBAC), a kube-apiserver of this file's own (ImageSharePolicies are
// cluster-scoped, and one scenario deletes their CRD) and the ECS emulator behind the unmodified SDK.
// - the denied cases of issue 18 are Stalled/PolicyDenied naming the policy and the rule, and the emulator's call log
//   shows no call at all for their images, then and over a 30 s quiet window (no hot loop);
// - policy and namespace-label edits re-judge the objects they concern within seconds: new grants stop, grants made
//   before are reported and not revoked, and relaxing the policy lets the object continue;
// - an object an open (0.1) operator synced is reported, not silently stopped, when the operator restarts restricted;
// - without the ImageSharePolicy CRD, restricted mode writes nothing until the CRD is back, also when the CRD is
//   deleted under the running operator (which deletes every policy first).
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
import { account, OWNER_KEY, operatorWorld, REGION, SECRET_KEY } from './operator-world.ts';

const CRDS = new URL('../../crds/', import.meta.url).pathname;
const POLICY_CRD = 'imagesharepolicies.ecs.alicloud.dev';
const TRUSTED = 'trusted-a';
const UNTRUSTED = 'untrusted';
const LEGACY = 'legacy';
const NAMESPACES: Record<string, Record<string, string>> = { [TRUSTED]: { team: 'a' }, [UNTRUSTED]: {}, [LEGACY]: {} };
/** The quiet window: 30 s tells a loop (several passes a second) from a resync (10 minutes). */
const QUIET_MS = 30_000;
/** "Within seconds": the watch re-queues at once; the bound only keeps a broken watch from hanging the test. */
const EDIT_MS = 15_000;

const policy = (name: string, spec: ImageSharePolicy['spec']): ImageSharePolicy => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageSharePolicy',
  metadata: { name },
  spec,
});
const TEAM_A = policy('team-a', {
  namespaceSelector: { matchLabels: { team: 'a' } },
  credentials: { operatorIdentity: true },
  images: { imageIds: ['m-pol*'] },
  recipients: { accounts: [account(1), account(2)] },
});
const FROZEN = policy('frozen', {
  namespaceSelector: { matchLabels: { frozen: 'true' } },
  credentials: { operatorIdentity: true, roleArns: ['*'] },
  recipients: { accounts: [] },
});

type Expect = [policy: string, rule: string];
// [name, namespace, spec, expected denial, why]
const DENIED: [string, string, Partial<ImageShareSpec> & { imageId: string }, Expect, string][] = [
  [
    'untrusted-identity',
    UNTRUSTED,
    { imageId: 'm-poluntr0001', accounts: [account(1)] },
    ['tenancy baseline', 'tenancy.trustedNamespaces'],
    "restricted mode: a namespace not in --trusted-namespaces may not borrow the operator's identity",
  ],
  [
    'untrusted-role',
    UNTRUSTED,
    {
      imageId: 'm-poluntr0002',
      accounts: [account(1)],
      credentials: { roleArn: 'acs:ram::1000000000000001:role/sharer' },
    },
    ['tenancy baseline', 'tenancy.trustedNamespaces'],
    'nor assume a role from it',
  ],
  [
    'foreign-recipient',
    TRUSTED,
    { imageId: 'm-polrecp0001', accounts: [account(1), account(3)] },
    ['team-a', 'recipients.accounts'],
    'one recipient outside the policy refuses the whole object',
  ],
  [
    'community',
    TRUSTED,
    { imageId: 'm-polcomm0001', community: true },
    ['team-a', 'community'],
    'community publishing is Denied by default',
  ],
  [
    'other-image',
    TRUSTED,
    { imageId: 'm-xother00001', accounts: [account(1)] },
    ['team-a', 'images.imageIds'],
    'only images whose ID starts with m-pol',
  ],
];
const ALLOWED_IMAGE = 'm-polallow001';
const OWN_KEYS_IMAGE = 'm-polownk0001';
const LEGACY_IMAGE = 'm-pollegacy01';

let cp: ControlPlane;
let kube: KubeCli;
let tmp: string;
let emu: Emulator;
let operatorKubeconfig: string;
let op: OperatorProcess | undefined;

const apply = async (obj: object): Promise<void> => {
  await kube.run(['apply', '-f', '-'], { input: stringify(obj) });
};
const imageShare = (ns: string, name: string, spec: Partial<ImageShareSpec> & { imageId: string }) => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name, namespace: ns },
  spec: { regionId: REGION, ...spec },
});
const get = (ns: string, name: string) => kube.getJson<ImageShare>('imageshare', ns, name);
const ready = (o: ImageShare) => o.status?.conditions?.find((c) => c.type === 'Ready');
const callsFor = async (imageId: string) => (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId);
const writesFor = async (imageId: string) =>
  (await callsFor(imageId)).filter((c) => c.action === 'ModifyImageSharePermission').length;
const passes = (key: string) => op?.logs().filter((l) => l.key === key && l.msg === 'reconciled').length ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the object's current generation has Ready with `reason` (and, when given, a message containing text). */
async function waitReason(ns: string, name: string, reason: string, text = '', timeoutMs = 45_000) {
  return eventually(
    async () => {
      const o = await get(ns, name);
      const r = ready(o);
      if (o.status?.observedGeneration !== o.metadata.generation || r?.reason !== reason || !r.message.includes(text))
        throw new Error(`${ns}/${name}: ${r?.reason} ${r?.message ?? ''}`);
      return o;
    },
    { timeoutMs },
  );
}

async function startRestricted(): Promise<OperatorProcess> {
  return startOperator({
    kubeconfig: operatorKubeconfig,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: Object.keys(NAMESPACES),
    extraArgs: ['--tenancy-mode=restricted', `--trusted-namespaces=${TRUSTED}`, '--resync-interval', '10m'],
  });
}

beforeAll(async () => {
  cp = await startControlPlane();
  tmp = await mkdtemp(join(tmpdir(), 'policy-reconcile-'));
  kube = new KubeCli(join(cp.binDir, 'kubectl'), cp.kubeconfigPath, join(tmp, 'cache'));
  await kube.run(['apply', '-f', CRDS]);
  await kube.run(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRDS]);
  const images = [...DENIED.map(([, , s]) => s.imageId), ALLOWED_IMAGE, OWN_KEYS_IMAGE, LEGACY_IMAGE];
  emu = await startEmulator({ seed: operatorWorld(images) });
  operatorKubeconfig = await operatorUserKubeconfig(cp, 'isop-system', {
    watchNamespaces: Object.keys(NAMESPACES),
    leaderElection: false,
  });
  // After the RBAC helper, whose `kubectl apply` of the bare namespaces would take labels applied before it away.
  for (const [name, labels] of Object.entries(NAMESPACES))
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'own', namespace: UNTRUSTED },
    stringData: SECRET_KEY,
  });
  // 0.1: an operator without tenancy flags (open) shares an object that uses its identity from an untrusted namespace.
  op = await startOperator({
    kubeconfig: operatorKubeconfig,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: Object.keys(NAMESPACES),
  });
  await apply(imageShare(LEGACY, 'old', { imageId: LEGACY_IMAGE, accounts: [account(5)] }));
  await waitReason(LEGACY, 'old', 'Synced');
  await op.stop();
  await kube.run(['apply', '-f', '-'], { input: [TEAM_A, FROZEN].map((p) => stringify(p)).join('---\n') });
  op = await startRestricted();
}, 180_000);

afterAll(async () => {
  await op?.stop();
  await emu?.close();
  await cp?.stop();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('the controller refuses what the policies deny, with no admission policy installed', () => {
  const start = new Map<string, { calls: number; passes: number; rv: string | undefined }>();

  beforeAll(async () => {
    const admission = await kube.run(['get', 'validatingadmissionpolicies', '-o', 'name']);
    expect(admission.stdout.trim()).toBe('');
    for (const [name, ns, spec] of DENIED) await apply(imageShare(ns, name, spec));
    await apply(imageShare(TRUSTED, 'allowed', { imageId: ALLOWED_IMAGE, accounts: [account(1)] }));
    await apply(
      imageShare(UNTRUSTED, 'own-keys', {
        imageId: OWN_KEYS_IMAGE,
        accounts: [account(4)],
        credentials: { secretRef: { name: 'own' } },
      }),
    );
    await Promise.all(DENIED.map(([name, ns]) => waitReason(ns, name, 'PolicyDenied')));
    await Promise.all([waitReason(TRUSTED, 'allowed', 'Synced'), waitReason(UNTRUSTED, 'own-keys', 'Synced')]);
    for (const [name, ns, spec] of DENIED)
      start.set(name, {
        calls: (await callsFor(spec.imageId)).length,
        passes: passes(`${ns}/${name}`),
        rv: (await get(ns, name)).metadata.resourceVersion,
      });
    await sleep(QUIET_MS);
  }, 120_000);

  it.each(DENIED)('%s in %s: %j is Stalled naming %j (%s)', async (name, ns, spec, [policyName, rule]) => {
    const o = await get(ns, name);
    const head =
      policyName === 'tenancy baseline'
        ? `${policyName} denies rule ${rule}:`
        : `ImageSharePolicy ${policyName} denies rule ${rule}:`;
    expect(ready(o)).toMatchObject({ status: 'False', reason: 'PolicyDenied' });
    expect(ready(o)?.message).toContain(head);
    expect(ready(o)?.message).toContain('Nothing was written.');
    expect(o.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    // No ECS call at all for this image, neither before nor during the quiet window.
    expect(await callsFor(spec.imageId)).toEqual([]);
    const s = start.get(name);
    expect(passes(`${ns}/${name}`) - (s?.passes ?? 0)).toBeLessThanOrEqual(1);
    expect((await get(ns, name)).metadata.resourceVersion).toBe(s?.rv);
  });

  it('the same operator shares what the policies allow: the trusted namespace, and own keys elsewhere', async () => {
    expect((await emu.admin.image(REGION, ALLOWED_IMAGE)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
    expect((await emu.admin.image(REGION, OWN_KEYS_IMAGE)).sharedWith.map((a) => a.id)).toEqual([account(4)]);
  });
});

describe('upgrade from 0.1: an object that worked under open mode is reported, not silently stopped', () => {
  it('is Stalled/PolicyDenied naming the values to set, keeps its grant, and says so in an event and a log line', async () => {
    const o = await waitReason(LEGACY, 'old', 'PolicyDenied');
    const message = ready(o)?.message ?? '';
    expect(message).toContain('tenancy baseline denies rule tenancy.trustedNamespaces: namespace legacy');
    expect(message).toContain('tenancy.trustedNamespaces');
    expect(message).toContain('tenancy.mode: open');
    expect(message).toContain('the 1 account(s) this object shared with (status.managedAccounts) stay as they are');
    expect(o.status?.managedAccounts).toEqual([account(5)]);
    expect((await emu.admin.image(REGION, LEGACY_IMAGE)).sharedWith.map((a) => a.id)).toEqual([account(5)]);
    const events = JSON.parse((await kube.run(['get', 'events.events.k8s.io', '-n', LEGACY, '-o', 'json'])).stdout) as {
      items: Array<{ reason: string; type: string; note: string; regarding: { name: string } }>;
    };
    const warning = events.items.find((e) => e.regarding.name === 'old' && e.reason === 'PolicyDenied');
    expect(warning).toMatchObject({ type: 'Warning' });
    expect(warning?.note).toContain('tenancy.mode: open');
    const line = op?.logs().find((l) => l.key === `${LEGACY}/old` && l.workedBefore === true);
    expect(line).toMatchObject({ policy: 'tenancy baseline', rule: 'tenancy.trustedNamespaces' });
    expect(String(line?.set)).toContain('--trusted-namespaces');
    expect(String(line?.msg)).toContain('worked before and is now denied');
  });
});

describe('policy edits take effect within seconds', () => {
  it('an allowed object denied by an edit stops granting, and its earlier grant is reported, not revoked', async () => {
    const writesBefore = await writesFor(ALLOWED_IMAGE);
    await kube.run([
      'patch',
      'imagesharepolicy',
      'team-a',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { recipients: { accounts: [account(2)] } } }),
    ]);
    const o = await waitReason(TRUSTED, 'allowed', 'PolicyDenied', 'ImageSharePolicy team-a denies rule', EDIT_MS);
    expect(ready(o)?.message).toContain('the 1 account(s) this object shared with (status.managedAccounts)');
    // A new grant the policy would allow is not made either: the object as a whole is denied.
    await kube.run([
      'patch',
      'imageshare',
      'allowed',
      '-n',
      TRUSTED,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { accounts: [account(1), account(2)] } }),
    ]);
    await waitReason(TRUSTED, 'allowed', 'PolicyDenied', `accounts ${account(1)} match none`, EDIT_MS);
    await sleep(3_000);
    expect(await writesFor(ALLOWED_IMAGE)).toBe(writesBefore);
    expect((await emu.admin.image(REGION, ALLOWED_IMAGE)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
  });

  it('relaxing the policy lets the object continue at once', async () => {
    await kube.run([
      'patch',
      'imagesharepolicy',
      'team-a',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { recipients: { accounts: [account(1), account(2)] } } }),
    ]);
    await waitReason(TRUSTED, 'allowed', 'Synced', '', EDIT_MS);
    expect(((await emu.admin.image(REGION, ALLOWED_IMAGE)).sharedWith ?? []).map((a) => a.id).sort()).toEqual([
      account(1),
      account(2),
    ]);
  });

  it('a namespace label that makes another policy select the namespace denies, and removing it allows again', async () => {
    await kube.run(['label', 'namespace', TRUSTED, 'frozen=true']);
    await waitReason(
      TRUSTED,
      'allowed',
      'PolicyDenied',
      'ImageSharePolicy frozen denies rule recipients.accounts',
      EDIT_MS,
    );
    await kube.run(['label', 'namespace', TRUSTED, 'frozen-']);
    await waitReason(TRUSTED, 'allowed', 'Synced', '', EDIT_MS);
  });
});

describe('restricted mode without the ImageSharePolicy CRD fails closed', () => {
  it('the CRD deleted under the running operator: its policies vanish with it, and still nothing is written', async () => {
    // account(7) is outside team-a's recipients: denied while the policy exists.
    await kube.run([
      'patch',
      'imageshare',
      'allowed',
      '-n',
      TRUSTED,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { accounts: [account(1), account(2), account(7)] } }),
    ]);
    await waitReason(TRUSTED, 'allowed', 'PolicyDenied', 'ImageSharePolicy team-a denies rule recipients.accounts');
    const writesBefore = await writesFor(ALLOWED_IMAGE);
    // Deleting the CRD deletes team-a first: judging by what is left would allow account(7).
    await kube.run(['delete', 'crd', POLICY_CRD, '--wait=true', '--timeout=60s']);
    const o = await waitReason(
      TRUSTED,
      'allowed',
      'PolicyDenied',
      'ImageSharePolicy CRD denies rule tenancy.mode',
      EDIT_MS,
    );
    expect(ready(o)?.message).toContain('is not installed');
    await sleep(5_000);
    expect(await writesFor(ALLOWED_IMAGE)).toBe(writesBefore);
    expect((await emu.admin.image(REGION, ALLOWED_IMAGE)).sharedWith.map((a) => a.id)).not.toContain(account(7));
    expect(op?.logs().some((l) => String(l.msg).startsWith('the ImageSharePolicy CRD is not installed'))).toBe(true);
    // Back: a fresh LIST finds no policy, so the baseline alone judges the trusted namespace (it allows).
    await kube.run(['apply', '-f', join(CRDS, 'imagesharepolicy.yaml')]);
    await kube.run(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(CRDS, 'imagesharepolicy.yaml')]);
    await waitReason(TRUSTED, 'allowed', 'Synced', '', 45_000);
    expect((await emu.admin.image(REGION, ALLOWED_IMAGE)).sharedWith.map((a) => a.id)).toContain(account(7));
  });

  it('writes nothing, says why, and continues once the CRD is installed again', async () => {
    await op?.stop();
    await kube.run(['delete', 'crd', POLICY_CRD, '--wait=true', '--timeout=60s']);
    const writesBefore = await writesFor(ALLOWED_IMAGE);
    // A spec change that would grant: with the policies unreadable it must not.
    await kube.run([
      'patch',
      'imageshare',
      'allowed',
      '-n',
      TRUSTED,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { accounts: [account(1), account(2), account(6)] } }),
    ]);
    op = await startRestricted();
    const o = await waitReason(TRUSTED, 'allowed', 'PolicyDenied', 'ImageSharePolicy CRD denies rule tenancy.mode');
    expect(ready(o)?.message).toContain(
      'the ImageSharePolicy CRD (imagesharepolicies.ecs.alicloud.dev) is not installed',
    );
    expect(ready(o)?.message).toContain('--tenancy-mode=open');
    expect(op.logs().some((l) => String(l.msg).startsWith('the ImageSharePolicy CRD is not installed'))).toBe(true);
    expect(await writesFor(ALLOWED_IMAGE)).toBe(writesBefore);
    await kube.run(['apply', '-f', join(CRDS, 'imagesharepolicy.yaml')]);
    // The policies went with the CRD: the trusted namespace is judged by the baseline alone, which allows it.
    await waitReason(TRUSTED, 'allowed', 'Synced', '', 45_000);
    expect((await emu.admin.image(REGION, ALLOWED_IMAGE)).sharedWith.map((a) => a.id)).toContain(account(6));
  });
});
