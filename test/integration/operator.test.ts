// The operator end to end: the real operator process against the real kube-apiserver, talking to the ECS emulator
// through the unmodified SDK, under the Helm chart's RBAC. Assertions use what the emulator recorded (calls,
// shares) and what kubectl shows.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import type { CallRecord } from '../emulator/server.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { argoHealth } from '../harness/argocd-health.ts';
import { addTestUser, testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { assertKstatusShape } from '../support/safety.ts';
import {
  account,
  accounts,
  EXPIRED_STS_KEY,
  NO_AGREEMENT_KEY,
  NO_QUOTA_KEY,
  NO_ROLE_KEY,
  OTHER_SITE_ACCOUNT,
  OWNER_KEY,
  operatorWorld,
  READONLY_KEY,
  REGION,
  SECRET_KEY,
  UNKNOWN_ACCOUNT,
} from './operator-world.ts';

const IMAGES = [
  'm-create00001',
  'm-edit0000001',
  'm-batch000001',
  'm-drift000001',
  'm-additive001',
  'm-publish0001',
  'm-transient01',
  'm-html502001',
  'm-plan0000001',
  'm-retain00001',
  'm-revoke00001',
  'm-dup00000001',
  'm-isolate0001',
  'm-suspend0001',
  'm-secretref01',
  'm-readonly001',
  'm-badsecret01',
  'm-nosecret001',
  'm-quota500001',
  'm-unknownkey01',
  'm-expiredsts01',
  'm-riskctrl0001',
  'm-newcode00001',
];

let emu: Emulator;
let op: OperatorProcess;
let ns: string;
let ns2: string;

beforeAll(async () => {
  ns = await createNamespace('op');
  ns2 = await createNamespace('op2');
  emu = await startEmulator({ seed: operatorWorld(IMAGES) });
  // The operator runs as a user bound to exactly the chart's rendered RBAC (namespace-restricted Secret reads), so
  // every scenario below also proves that RBAC is sufficient.
  const kubeconfig = await operatorUserKubeconfig({ ...testState(), addUser: addTestUser }, ns, {
    watchNamespaces: [ns, ns2],
    leaderElection: false,
  });
  op = await startOperator({
    kubeconfig,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns, ns2],
    extraArgs: ['--resync-interval', '10s'],
  });
}, 120_000);

afterAll(async () => {
  const code = await op?.stop();
  await emu?.close();
  expect(code).toBe(0);
});

async function apply(name: string, spec: Partial<ImageShareSpec> & { imageId: string }, namespace = ns): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace },
    spec: { regionId: REGION, ...spec },
  });
}

const get = (name: string, namespace = ns) => getJson<ImageShare>('imageshare', namespace, name);
const readyOf = (o: ImageShare) => o.status?.conditions?.find((c) => c.type === 'Ready');

/** Waits until the Ready condition, at the current generation, has `reason`; checks the kstatus shape on the way. */
async function waitReason(name: string, reason: string, namespace = ns, timeoutMs = 45_000): Promise<ImageShare> {
  return eventually(
    async () => {
      const o = await get(name, namespace);
      const ready = readyOf(o);
      if (o.status?.observedGeneration !== o.metadata.generation || ready?.reason !== reason) {
        throw new Error(
          `${name}: Ready reason ${ready?.reason} (${ready?.message}) at generation ${o.status?.observedGeneration}/${o.metadata.generation}`,
        );
      }
      assertKstatusShape(o.status, o.metadata.generation ?? 0);
      return o;
    },
    { timeoutMs },
  );
}

async function callsFor(imageId: string, action = 'ModifyImageSharePermission'): Promise<CallRecord[]> {
  return (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId && c.action === action);
}
const ok = (calls: CallRecord[]) => calls.filter((c) => c.code === 'OK');
const listParam = (c: CallRecord, prefix: string) =>
  Object.entries(c.params)
    .filter(([k]) => k.startsWith(`${prefix}.`))
    .map(([, v]) => String(v))
    .sort();
const sharedIn = async (imageId: string) => (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id).sort();
const poke = (name: string, namespace = ns) =>
  kubectl([
    'annotate',
    'imageshare',
    name,
    '-n',
    namespace,
    '--overwrite',
    `ecs.alicloud.dev/reconcile-requested-at=${Date.now()}`,
  ]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('create, edit and batching', () => {
  it('create → Ready with exactly the spec accounts, and kubectl wait --for=condition=Ready works', async () => {
    await apply('create', { imageId: 'm-create00001', accounts: accounts(1, 3) });
    await kubectl(['wait', '--for=condition=Ready', 'imageshare/create', '-n', ns, '--timeout=60s']);
    expect(await sharedIn('m-create00001')).toEqual(accounts(1, 3));
    const o = await get('create');
    expect(o.status).toMatchObject({
      sharedAccounts: accounts(1, 3),
      managedAccounts: accounts(1, 3),
      community: false,
    });
    // Reported from the read plus the accepted write (no second read in the pass); SharedTime comes with the next read.
    expect(o.status?.accounts?.every((a) => a.state === 'Shared')).toBe(true);
    expect(o.status?.pendingWrites?.map((w) => w.account)).toEqual(accounts(1, 3));
    // deletionPolicy Retain: deletion has nothing to clean up, so no finalizer holds it.
    expect(o.metadata.finalizers ?? []).toEqual([]);
    expect(ok(await callsFor('m-create00001'))).toHaveLength(1);
    expect(await argoHealth(o)).toMatchObject({ status: 'Healthy' });
    const events = JSON.parse((await kubectl(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json'])).stdout) as {
      items: Array<{ reason: string; regarding: { name: string } }>;
    };
    expect(events.items.filter((e) => e.regarding.name === 'create').map((e) => e.reason)).toEqual(['Granted']);
  });

  it('a spec edit converges with the minimum calls: one revoke and one grant', async () => {
    await apply('edit', { imageId: 'm-edit0000001', accounts: accounts(1, 12) });
    await waitReason('edit', 'Synced');
    const before = ok(await callsFor('m-edit0000001')).length;
    await apply('edit', { imageId: 'm-edit0000001', accounts: accounts(3, 12) });
    await waitReason('edit', 'Synced');
    const after = ok(await callsFor('m-edit0000001')).slice(before);
    expect(after.map((c) => [listParam(c, 'RemoveAccount'), listParam(c, 'AddAccount')])).toEqual([
      [[account(1), account(2)], []],
      [[], [account(13), account(14)]],
    ]);
    expect(await sharedIn('m-edit0000001')).toEqual(accounts(3, 12));
  });

  it('23 new accounts become exactly 3 calls of at most 10', async () => {
    await apply('batch', { imageId: 'm-batch000001', accounts: accounts(1, 23) });
    await waitReason('batch', 'Synced');
    const calls = ok(await callsFor('m-batch000001'));
    expect(calls.map((c) => listParam(c, 'AddAccount').length)).toEqual([10, 10, 3]);
    expect(await sharedIn('m-batch000001')).toEqual(accounts(1, 23));
  });
});

describe('drift', () => {
  it('Authoritative: an out-of-band share is reverted by the periodic resync', async () => {
    await apply('drift', { imageId: 'm-drift000001', accounts: accounts(1, 2) });
    await waitReason('drift', 'Synced');
    await emu.admin.share(REGION, 'm-drift000001', { add: [account(50)] });
    await eventually(async () => expect(await sharedIn('m-drift000001')).toEqual(accounts(1, 2)), {
      timeoutMs: 40_000,
    });
    await eventually(async () => {
      const events = (
        await kubectl([
          'get',
          'events',
          '-n',
          ns,
          '--field-selector',
          'involvedObject.name=drift',
          '-o',
          'jsonpath={.items[*].reason}',
        ])
      ).stdout;
      expect(events).toContain('DriftCorrected');
    });
  });

  it('Additive: an out-of-band share is left alone and reported in the Ready message', async () => {
    await apply('additive', { imageId: 'm-additive001', accounts: accounts(1, 2), sharePolicy: 'Additive' });
    await waitReason('additive', 'Synced');
    await emu.admin.share(REGION, 'm-additive001', { add: [account(51)] });
    await poke('additive');
    await eventually(async () =>
      expect(readyOf(await get('additive'))?.message).toContain('1 of them shared outside this object'),
    );
    expect(await sharedIn('m-additive001')).toEqual([...accounts(1, 2), account(51)]);
    expect((await get('additive')).status?.managedAccounts).toEqual(accounts(1, 2));
  });
});

describe('community', () => {
  it('publishing revokes first and publishes last; unpublishing comes before granting', async () => {
    await emu.admin.share(REGION, 'm-publish0001', { add: [account(5), account(6)] });
    await apply('publish', { imageId: 'm-publish0001', community: true });
    await waitReason('publish', 'Synced');
    const first = ok(await callsFor('m-publish0001'));
    expect(
      first.map((c) =>
        c.params.IsPublic !== undefined
          ? `IsPublic=${c.params.IsPublic}`
          : `remove ${listParam(c, 'RemoveAccount').join(',')}`,
      ),
    ).toEqual([`remove ${account(5)},${account(6)}`, 'IsPublic=true']);
    expect((await emu.admin.image(REGION, 'm-publish0001')).community).toBe(true);
    await apply('publish', { imageId: 'm-publish0001', community: false, accounts: [account(7)] });
    await waitReason('publish', 'Synced');
    const second = ok(await callsFor('m-publish0001')).slice(first.length);
    expect(
      second.map((c) =>
        c.params.IsPublic !== undefined
          ? `IsPublic=${c.params.IsPublic}`
          : `add ${listParam(c, 'AddAccount').join(',')}`,
      ),
    ).toEqual(['IsPublic=false', `add ${account(7)}`]);
    expect(second.every((c) => c.params.IsPublic === undefined || listParam(c, 'AddAccount').length === 0)).toBe(true);
  });
});

describe('failures', () => {
  type Row = {
    why: string;
    name: string;
    spec: Partial<ImageShareSpec> & { imageId: string };
    reason: string;
    setup?: () => Promise<void>;
  };
  const viaSecret = (name: string, key: { accessKeyId: string; accessKeySecret: string; securityToken?: string }) => ({
    credentials: { secretRef: { name } },
    setup: () => secret(name, key),
  });
  const row = (
    why: string,
    name: string,
    imageId: string,
    reason: string,
    extra: Partial<Row['spec']> & { setup?: () => Promise<void> } = {},
  ): Row => {
    const { setup, ...spec } = extra;
    return { why, name, reason, spec: { imageId, accounts: [account(1)], ...spec }, ...(setup ? { setup } : {}) };
  };
  const publish = { accounts: [], community: true };
  const terminal: Row[] = [
    row('a deprecated image cannot be shared', 'deprecated', 'm-deprecated01', 'ImageDeprecated'),
    row('service-key encryption cannot be shared', 'servicekey', 'm-servicekey01', 'ServiceKeyEncryptedImage'),
    row(
      'an encrypted image with several snapshots cannot be shared',
      'fullimage',
      'm-fullimage001',
      'EncryptedImageMultipleSnapshots',
    ),
    row('the older encrypted-snapshot rule', 'legacyenc', 'm-legacyenc001', 'EncryptedSnapshotUnsupported'),
    row('a CMK that does not authorise ECS', 'kmsunauth', 'm-kmsunauth001', 'KMSKeyUnauthorized'),
    row('a disabled CMK', 'kmsdisabled', 'm-kmsdisabl001', 'KMSKeyNotEnabled'),
    row('a deleted CMK', 'kmsmissing', 'm-kmsmissin001', 'KMSKeyNotFound'),
    row(
      'an owner without the encrypted-share RAM role',
      'norole',
      'm-norole000001',
      'EncryptedShareRoleMissing',
      viaSecret('norole', NO_ROLE_KEY),
    ),
    row(
      'an owner at its shared-image quota',
      'noquota',
      'm-noquota00001',
      'ShareImageQuotaExceeded',
      viaSecret('noquota', NO_QUOTA_KEY),
    ),
    row(
      'an encrypted image is never published',
      'cmkpublish',
      'm-cmkpublish01',
      'EncryptedImageNotPublishable',
      publish,
    ),
    row('a sensitive word blocks publishing', 'sensitive', 'm-sensitive001', 'ContainsSensitiveWords', publish),
    row('some regions have no community images', 'noregion', 'm-noregion0001', 'CommunityNotSupportedInRegion', {
      ...publish,
      regionId: 'cn-shanghai',
    }),
    row('publishing needs the signed agreement', 'noagree', 'm-noagree00001', 'CommunityAgreementNotSigned', {
      ...publish,
      ...viaSecret('noagree', NO_AGREEMENT_KEY),
    }),
    row('an image of another owner is invisible', 'notmine', 'm-notmine00001', 'ImageNotFound'),
    row('a missing image is reported, not retried hot', 'missing', 'm-nosuchimage1', 'ImageNotFound'),
    row('an image shared with us is not ours to share', 'sharedtous', 'm-sharedtous01', 'ImageNotOwned'),
    row('an unknown region', 'badregion', 'm-anyimage0001', 'RegionNotFound', { regionId: 'ap-nowhere-9' }),
    row(
      'a community image cannot take accounts unless the spec unpublishes',
      'iscommunity',
      'm-community001',
      'ImageIsCommunity',
    ),
    {
      ...row(
        'more than 50 accounts in total is refused before any call',
        'quota50',
        'm-quota500001',
        'AccountQuotaExceeded',
        { accounts: accounts(60, 5), sharePolicy: 'Additive' },
      ),
      setup: async () => void (await emu.admin.share(REGION, 'm-quota500001', { add: accounts(1, 48) })),
    },
    row(
      'a key without ModifyImageSharePermission is AccessDenied',
      'readonly',
      'm-readonly001',
      'AccessDenied',
      viaSecret('readonly', READONLY_KEY),
    ),
    row(
      'a wrong secret is a signature mismatch',
      'badsecret',
      'm-badsecret01',
      'SignatureMismatch',
      viaSecret('badsecret', { accessKeyId: SECRET_KEY.accessKeyId, accessKeySecret: 'not-the-right-secret-value' }),
    ),
    row(
      'an unknown key',
      'unknownkey',
      'm-unknownkey01',
      'InvalidCredentials',
      viaSecret('unknownkey', { accessKeyId: 'LTAItestnosuchkey1', accessKeySecret: 'itest-whatever' }),
    ),
    row(
      'an expired STS token',
      'expiredsts',
      'm-expiredsts01',
      'CredentialsExpired',
      viaSecret('expiredsts', EXPIRED_STS_KEY),
    ),
    row('a missing Secret is CredentialsNotFound', 'nosecret', 'm-nosecret001', 'CredentialsNotFound', {
      credentials: { secretRef: { name: 'absent' } },
    }),
    {
      ...row('risk control (no seedable state: injected as a fault)', 'riskcontrol', 'm-riskctrl0001', 'RiskControl'),
      setup: () => emu.admin.addFault({ type: 'error', code: 'Forbidden.RiskControl', imageId: 'm-riskctrl0001' }),
    },
    {
      ...row('an ECS code the table does not know (injected as a fault)', 'newcode', 'm-newcode00001', 'CloudAPIError'),
      setup: () =>
        emu.admin.addFault({ type: 'error', code: 'Brand.NewCode', httpStatus: 400, imageId: 'm-newcode00001' }),
    },
  ];

  beforeAll(async () => {
    for (const r of terminal) await r.setup?.();
    await Promise.all(terminal.map((r) => apply(r.name, r.spec)));
  }, 60_000);

  it.each(terminal)('terminal: $why → Stalled with $reason', async ({ name, spec, reason }) => {
    const o = await waitReason(name, reason);
    expect(o.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason });
    expect(readyOf(o)?.message).toMatch(/\S.*\.$/);
    expect(await argoHealth(o)).toMatchObject({ status: 'Degraded' });
    // Nothing is written for a terminal reason; the quota row fills the two free places first (spec order).
    const added = ok(await callsFor(spec.imageId)).flatMap((c) => listParam(c, 'AddAccount'));
    expect(added).toEqual(name === 'quota50' ? accounts(60, 2) : []);
  });

  it('terminal errors are not retried hot: at most one pass per resync interval (10 s here) per Stalled object', async () => {
    for (const r of terminal) await waitReason(r.name, r.reason);
    const since = Date.now();
    await sleep(12_000);
    const passes = (name: string) =>
      op.logs().filter((l) => l.msg === 'reconciled' && l.key === `${ns}/${name}` && (l.time as number) >= since);
    for (const r of terminal) {
      const seen = passes(r.name);
      expect(`${r.name}: ${seen.length} passes`).toMatch(/: [0-2] passes$/);
      for (const l of seen) expect(l.result).toBe('terminal');
    }
  }, 30_000);

  it('a Secret with the right key works and the secret never shows up in logs, events or status', async () => {
    await secret('owner-key', SECRET_KEY);
    await apply('secretref', {
      imageId: 'm-secretref01',
      accounts: [account(1)],
      credentials: { secretRef: { name: 'owner-key' } },
    });
    await waitReason('secretref', 'Synced');
    const calls = ok(await callsFor('m-secretref01'));
    expect(calls.every((c) => c.accessKeyId === SECRET_KEY.accessKeyId)).toBe(true);
    const everything = [
      op.rawLog(),
      (await kubectl(['get', 'events', '-A', '-o', 'yaml'])).stdout,
      (await kubectl(['get', 'imageshares', '-A', '-o', 'yaml'])).stdout,
    ].join('\n');
    for (const secretValue of [
      SECRET_KEY.accessKeySecret,
      OWNER_KEY.accessKeySecret,
      READONLY_KEY.accessKeySecret,
      EXPIRED_STS_KEY.accessKeySecret,
      EXPIRED_STS_KEY.securityToken,
      'not-the-right-secret-value',
    ]) {
      expect(everything).not.toContain(secretValue);
    }
  });

  it('transient 503s back off, then the object becomes Ready', async () => {
    await emu.admin.addFault({ type: 'error', code: 'ServiceUnavailable', imageId: 'm-transient01', times: 3 });
    await apply('transient', { imageId: 'm-transient01', accounts: accounts(1, 2) });
    await waitReason('transient', 'Synced');
    expect(
      (await emu.admin.calls()).calls.filter((c) => c.imageId === 'm-transient01' && c.code === 'ServiceUnavailable'),
    ).toHaveLength(3);
    expect(await sharedIn('m-transient01')).toEqual(accounts(1, 2));
  });

  it('an HTML 502 from a proxy is transient too', async () => {
    await emu.admin.addFault({
      type: 'html502',
      imageId: 'm-html502001',
      action: 'ModifyImageSharePermission',
      times: 2,
    });
    await apply('html502', { imageId: 'm-html502001', accounts: [account(1)] });
    await waitReason('html502', 'Synced');
    expect(await sharedIn('m-html502001')).toEqual([account(1)]);
  });

  it('one bad account among many is isolated: the rest are shared, the culprits are Failed with their reasons', async () => {
    const wanted = [...accounts(1, 9), UNKNOWN_ACCOUNT, OTHER_SITE_ACCOUNT];
    await apply('isolate', { imageId: 'm-isolate0001', accounts: wanted });
    const o = await waitReason('isolate', 'AccountsFailed');
    expect(await sharedIn('m-isolate0001')).toEqual(accounts(1, 9));
    const failed = Object.fromEntries(
      (o.status?.accounts ?? []).filter((a) => a.state === 'Failed').map((a) => [a.id, a.reason]),
    );
    expect(failed).toEqual({ [UNKNOWN_ACCOUNT]: 'AccountNotFound', [OTHER_SITE_ACCOUNT]: 'AccountOtherSite' });
  });
});

describe('modes, ownership and deletion', () => {
  it('Plan mode writes nothing, fills status.plan, and shows Suspended in Argo CD; Apply then runs exactly that plan', async () => {
    await emu.admin.share(REGION, 'm-plan0000001', { add: [account(9)] });
    await apply('plan', { imageId: 'm-plan0000001', accounts: accounts(1, 2), mode: 'Plan' });
    const o = await waitReason('plan', 'PlanPending');
    expect(o.status?.plan).toEqual({ grant: accounts(1, 2), revoke: [account(9)] });
    expect(await callsFor('m-plan0000001')).toEqual([]);
    expect(await argoHealth(o)).toMatchObject({ status: 'Suspended' });
    await apply('plan', { imageId: 'm-plan0000001', accounts: accounts(1, 2), mode: 'Apply' });
    await waitReason('plan', 'Synced');
    const calls = ok(await callsFor('m-plan0000001'));
    expect(calls.map((c) => [listParam(c, 'RemoveAccount'), listParam(c, 'AddAccount')])).toEqual([
      [[account(9)], []],
      [[], accounts(1, 2)],
    ]);
  });

  it('suspend: no cloud calls at all, and Argo CD shows Suspended', async () => {
    await apply('suspend', { imageId: 'm-suspend0001', accounts: accounts(1, 2), suspend: true });
    const o = await waitReason('suspend', 'Suspended');
    expect((await emu.admin.calls()).calls.filter((c) => c.imageId === 'm-suspend0001')).toEqual([]);
    expect(await argoHealth(o)).toMatchObject({ status: 'Suspended' });
  });

  it('a second ImageShare for the same image is Stalled with DuplicateImageShare and never writes', async () => {
    await apply('dup-a', { imageId: 'm-dup00000001', accounts: accounts(1, 2) });
    await waitReason('dup-a', 'Synced');
    await apply('dup-b', { imageId: 'm-dup00000001', accounts: [account(3)] }, ns2);
    const b = await waitReason('dup-b', 'DuplicateImageShare', ns2);
    expect(readyOf(b)?.message).toContain(`${ns}/dup-a`);
    expect(await sharedIn('m-dup00000001')).toEqual(accounts(1, 2));
  });

  it('delete with Retain leaves the shares; delete with Revoke removes only what the object granted', async () => {
    await apply('retain', { imageId: 'm-retain00001', accounts: accounts(1, 2) });
    await emu.admin.share(REGION, 'm-revoke00001', { add: [account(60)] });
    await apply('revoke', {
      imageId: 'm-revoke00001',
      accounts: accounts(1, 2),
      sharePolicy: 'Additive',
      deletionPolicy: 'Revoke',
    });
    await waitReason('retain', 'Synced');
    await waitReason('revoke', 'Synced');
    await kubectl(['delete', 'imageshare', 'retain', 'revoke', '-n', ns, '--wait=true', '--timeout=60s']);
    expect(await sharedIn('m-retain00001')).toEqual(accounts(1, 2));
    expect(await sharedIn('m-revoke00001')).toEqual([account(60)]);
  });

  it('exports reconcile and ECS call metrics', async () => {
    const text = await op.metrics();
    expect(text).toMatch(/imageshare_reconcile_total\{result="success"\} [1-9]/);
    expect(text).toMatch(/imageshare_ecs_calls_total\{action="ModifyImageSharePermission",code="OK"\} [1-9]/);
    expect(text).toMatch(/imageshare_ecs_calls_total\{action="\w+",code="ServiceUnavailable"\} [1-3]/);
    expect(text).toMatch(/imageshare_objects\{ready="True",reason="Synced"\} [1-9]/);
    expect(text).toMatch(/imageshare_objects\{ready="False",reason="DuplicateImageShare"\} 1/);
    expect(text).not.toContain(OWNER_KEY.accessKeyId);
  });
});

async function secret(
  name: string,
  key: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
): Promise<void> {
  await applyYaml({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: key });
}
