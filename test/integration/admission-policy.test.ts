// The chart's ValidatingAdmissionPolicies (docs/adr/0024) on a real kube-apiserver: a table of ImageShares, each
// applied with kubectl and expected to be admitted or refused with a message naming the policy and the rule. Every
// row is also run through src/policy/evaluate.ts, which must reach the same decision with the same message.
// The admission objects are cluster-wide and have fixed names, so this file starts a control plane of its own rather
// than sharing the run's (where the chart is installed and uninstalled by other files).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { ImageSharePolicy } from '../../src/api/policy-types.ts';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { runCli, type ValidationResult } from '../../src/cli/commands.ts';
import { evaluate, type Tenancy } from '../../src/policy/evaluate.ts';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
import { eventually } from '../harness/eventually.ts';
import { CHART_DIR, helm } from '../harness/helm.ts';
import { KubeCli, type KubeResult } from '../harness/kube-cli.ts';

const CRDS = new URL('../../crds/', import.meta.url).pathname;
const TRUSTED = ['ns-open', 'ns-a', 'ns-b', 'ns-gold-prod', 'ns-gold-dev', 'ns-gold-legacy', 'ns-gold-qa'];
const TENANCY: Tenancy = { mode: 'restricted', trustedNamespaces: TRUSTED };
const NAMESPACES: Record<string, Record<string, string>> = {
  'ns-open': {},
  'ns-untrusted': {},
  'ns-a': { team: 'a' },
  'ns-b': { team: 'b' },
  'ns-c': { team: 'c' },
  'ns-gold-prod': { tier: 'gold', env: 'prod' },
  'ns-gold-dev': { tier: 'gold', env: 'dev' },
  'ns-gold-legacy': { tier: 'gold', env: 'prod', legacy: 'true' },
  'ns-gold-qa': { tier: 'gold', env: 'qa' },
};
const ROLE_A = 'acs:ram::1111111111111111:role/team-a-sharer';
const ROLE_SHARED = 'acs:ram::4444444444444444:role/shared';
const ROLE_B = 'acs:ram::1111111111111111:role/team-b-sharer';

const policy = (name: string, spec: ImageSharePolicy['spec']): ImageSharePolicy => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageSharePolicy',
  metadata: { name },
  spec,
});
const POLICIES = [
  policy('team-a', {
    namespaceSelector: { matchLabels: { team: 'a' } },
    credentials: { roleArns: ['acs:ram::1111111111111111:role/team-a-*', ROLE_SHARED] },
    images: { regions: ['cn-*'], imageIds: ['m-teama*'] },
    recipients: { accounts: ['2222222222222222', '3333*'] },
    authoritative: 'Denied',
  }),
  policy('team-b-roles', {
    namespaceSelector: { matchLabels: { team: 'b' } },
    credentials: { operatorIdentity: true, roleArns: ['acs:ram::1111111111111111:role/team-b-*'] },
  }),
  policy('team-b-recipients', {
    namespaceSelector: { matchLabels: { team: 'b' } },
    credentials: { operatorIdentity: true },
    recipients: { accounts: ['5555555555555555'] },
  }),
  policy('team-c', {
    namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['c'] }] },
    recipients: { accounts: [] },
    community: 'Allowed',
  }),
  policy('prod-gold', {
    namespaceSelector: {
      matchExpressions: [
        { key: 'tier', operator: 'Exists' },
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
      ],
    },
    credentials: { operatorIdentity: false },
  }),
  policy('gold-not-legacy', {
    namespaceSelector: {
      matchLabels: { tier: 'gold' },
      matchExpressions: [
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'env', operator: 'NotIn', values: ['qa'] },
      ],
    },
    credentials: { operatorIdentity: true, secretRef: false },
  }),
];

const IMG = 'm-teama0000001';
const own = { credentials: { secretRef: { name: 'own-keys' } } };
type Expect = 'admit' | [policy: string, rule: string];
// [namespace, spec overrides, expected, why]
const ROWS: [string, Partial<ImageShareSpec>, Expect, string][] = [
  ['ns-open', {}, 'admit', 'a trusted namespace no policy selects may use the operator identity (0.1 behaviour)'],
  [
    'ns-open',
    { sharePolicy: 'Authoritative', accounts: ['9999999999999999'] },
    'admit',
    'no policy there, so Authoritative and any recipient pass',
  ],
  [
    'ns-untrusted',
    {},
    ['tenancy baseline', 'tenancy.trustedNamespaces'],
    'restricted mode: an untrusted namespace may not borrow the operator identity',
  ],
  [
    'ns-untrusted',
    { credentials: { roleArn: ROLE_A } },
    ['tenancy baseline', 'tenancy.trustedNamespaces'],
    'nor assume a role from it',
  ],
  ['ns-untrusted', own, 'admit', 'its own keys are always fine when no policy says otherwise'],
  [
    'ns-a',
    { sharePolicy: 'Additive' },
    ['team-a', 'credentials.operatorIdentity'],
    'team-a leaves operatorIdentity at its default, false',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', credentials: { roleArn: ROLE_A } },
    'admit',
    'the role matches the prefix pattern team-a-*',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', credentials: { roleArn: ROLE_SHARED } },
    'admit',
    'the role matches an exact pattern',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', credentials: { roleArn: `${ROLE_SHARED}-extra` } },
    ['team-a', 'credentials.roleArns'],
    'an exact pattern is not a prefix',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', credentials: { roleArn: ROLE_B } },
    ['team-a', 'credentials.roleArns'],
    "another team's role is refused",
  ],
  ['ns-a', { sharePolicy: 'Additive', ...own }, 'admit', 'secretRef is allowed by default'],
  [
    'ns-a',
    { sharePolicy: 'Additive', ...own, regionId: 'ap-southeast-1' },
    ['team-a', 'images.regions'],
    'only cn-* regions',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', ...own, imageId: 'm-other0000001' },
    ['team-a', 'images.imageIds'],
    'only images whose ID starts with m-teama',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', ...own, accounts: ['2222222222222222', '3333000000000001'] },
    'admit',
    'one exact recipient and one by prefix',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', ...own, accounts: ['2222222222222222', '9999999999999999'] },
    ['team-a', 'recipients.accounts'],
    'one recipient outside the list refuses the whole object',
  ],
  [
    'ns-a',
    {
      sharePolicy: 'Additive',
      ...own,
      accounts: ['2222222222222222'],
      expiringAccounts: [{ id: '9999999999999999', expiresAt: '2030-01-01T00:00:00Z' }],
    },
    ['team-a', 'recipients.accounts'],
    'an expiring account outside the list refuses the object too (a tenant cannot route around the recipients)',
  ],
  [
    'ns-a',
    {
      sharePolicy: 'Additive',
      ...own,
      expiringAccounts: [{ id: '3333444455556666', expiresAt: '2030-01-01T00:00:00Z' }],
    },
    'admit',
    'an expiring account inside the patterns is admitted',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', ...own, community: true },
    ['team-a', 'community'],
    'community publishing is Denied by default',
  ],
  [
    'ns-a',
    { sharePolicy: 'Additive', ...own, community: false },
    'admit',
    'unpublishing exposes nothing and needs no allowance',
  ],
  ['ns-a', { ...own }, ['team-a', 'authoritative'], 'sharePolicy defaults to Authoritative, which team-a denies'],
  ['ns-c', { ...own, community: true }, 'admit', 'team-c allows community publishing, and its own keys'],
  [
    'ns-c',
    { ...own, accounts: ['1234567890123456'] },
    ['team-c', 'recipients.accounts'],
    'an empty recipients list allows no account',
  ],
  ['ns-c', { ...own, sharePolicy: 'Authoritative' }, 'admit', 'team-c leaves authoritative at its default, Allowed'],
  [
    'ns-a',
    { sharePolicy: 'Additive', ...own, regionId: 'ap-southeast-1', accounts: ['9999999999999999'] },
    ['team-a', 'images.regions'],
    'two rules of one policy deny: the first in rule order is reported',
  ],
  [
    'ns-b',
    { accounts: ['5555555555555555'] },
    'admit',
    'both policies selecting ns-b allow the operator identity and this recipient',
  ],
  [
    'ns-b',
    { accounts: ['6666666666666666'] },
    ['team-b-recipients', 'recipients.accounts'],
    'every selecting policy must allow: one refusing is enough',
  ],
  [
    'ns-b',
    { credentials: { roleArn: ROLE_B }, accounts: ['5555555555555555'] },
    ['team-b-recipients', 'credentials.roleArns'],
    'intersection, not union: team-b-roles allows the role, team-b-recipients allows none',
  ],
  [
    'ns-gold-prod',
    {},
    ['prod-gold', 'credentials.operatorIdentity'],
    'Exists and In both hold, so prod-gold selects it (gold-not-legacy alone would allow)',
  ],
  ['ns-gold-dev', {}, 'admit', 'env dev is not In [prod, staging]: only gold-not-legacy selects, and it allows'],
  ['ns-gold-dev', own, ['gold-not-legacy', 'credentials.secretRef'], 'gold-not-legacy forbids secretRef'],
  [
    'ns-gold-legacy',
    own,
    'admit',
    'legacy exists, so DoesNotExist fails and gold-not-legacy does not select; prod-gold allows secretRef',
  ],
  ['ns-gold-qa', own, 'admit', 'env qa is excluded by NotIn, so no policy selects it'],
];

let cp: ControlPlane;
let kube: KubeCli;
let tmp: string;

const run = (args: string[], input?: string): Promise<KubeResult> =>
  kube.run(args, { allowFail: true, ...(input === undefined ? {} : { input }) });

function imageShare(ns: string, name: string, spec: Partial<ImageShareSpec>): object {
  return {
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: 'cn-hangzhou', imageId: IMG, ...spec },
  };
}

const helmOn = async (args: string[]): Promise<void> => {
  const r = await helm([...args, '--kubeconfig', cp.kubeconfigPath], cp.binDir);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
};
/** `validate --policy` (offline) on one object, with the policies and namespaces as a repository would hold them. */
async function validateOffline(obj: object): Promise<ValidationResult> {
  const shares = join(tmp, 'share.yaml');
  const policies = join(tmp, 'policies.yaml');
  const namespaces = Object.entries(NAMESPACES).map(([name, labels]) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels },
  }));
  await writeFile(shares, stringify(obj));
  await writeFile(policies, [...namespaces, ...POLICIES].map((d) => stringify(d)).join('---\n'));
  let out = '';
  const append = (t: string): void => {
    out += t;
  };
  const io = { out: append, err: append };
  const args = ['validate', '-f', shares, '--policy', policies, '--output', 'json'];
  await runCli([...args, '--tenancy-mode', 'restricted', '--trusted-namespaces', TRUSTED.join(',')], io);
  const parsed = JSON.parse(out) as { objects: ValidationResult[] };
  return parsed.objects[0] as ValidationResult;
}

const dryRun = (ns: string, spec: Partial<ImageShareSpec>): Promise<KubeResult> =>
  run(['apply', '--dry-run=server', '-f', '-'], stringify(imageShare(ns, 'probe', spec)));

beforeAll(async () => {
  cp = await startControlPlane();
  tmp = await mkdtemp(join(tmpdir(), 'admission-policy-'));
  kube = new KubeCli(join(cp.binDir, 'kubectl'), cp.kubeconfigPath, join(tmp, 'cache'));
  for (const [ns, labels] of Object.entries(NAMESPACES)) {
    await kube.run(['apply', '-f', '-'], {
      input: stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } }),
    });
  }
  // A real `helm install` with default values (CRDs included); there is no kubelet, so the Deployment never runs.
  await helmOn(['install', 'isop', CHART_DIR, '--namespace', 'isop-system', '--create-namespace']);
  await kube.run(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRDS]);
}, 120_000);

afterAll(async () => {
  await cp?.stop();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('a fresh helm install with default values (secure by default)', () => {
  it.each([
    [{}, false, "no namespace was named, so none may use the operator's identity"],
    [{ credentials: { roleArn: ROLE_A } }, false, 'nor a role assumed from it'],
    [own, true, 'its own keys remain possible'],
  ])('in a namespace the admin did not name, %j is admitted: %s (%s)', async (spec, admitted, _why) => {
    // The apiserver loads policies and bindings through informers, so the first answer may predate them.
    const r = await eventually(async () => {
      const res = await dryRun('ns-open', spec);
      if ((res.code === 0) !== admitted) throw new Error(`not yet: ${res.stderr}`);
      return res;
    });
    if (!admitted)
      expect(r.stderr).toContain('tenancy baseline denies rule tenancy.trustedNamespaces: namespace ns-open');
  });
});

describe('ImageShare admission under the chart policies (tenancy.mode restricted, trusted namespaces)', () => {
  beforeAll(async () => {
    await helmOn([
      'upgrade',
      'isop',
      CHART_DIR,
      '--namespace',
      'isop-system',
      '--reuse-values',
      '--set',
      `tenancy.trustedNamespaces={${TRUSTED.join(',')}}`,
    ]);
    await kube.run(['apply', '-f', '-'], { input: POLICIES.map((p) => stringify(p)).join('---\n') });
    await eventually(async () => {
      if ((await dryRun('ns-c', { ...own, accounts: ['1234567890123456'] })).code === 0)
        throw new Error('the policies are not in force yet');
      if ((await dryRun('ns-open', {})).code !== 0) throw new Error('the trusted namespaces are not in force yet');
    });
  }, 60_000);

  it('has at least 20 rows', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(20);
  });

  it.each(ROWS.map((r, i) => [i, ...r] as const))('row %i in %s: %j → %j (%s)', async (i, ns, spec, expected) => {
    const obj = imageShare(ns, `row-${i}`, spec);
    const full = (obj as { spec: ImageShareSpec }).spec;
    // The stored policies (with the apiserver's defaults) are what the evaluator gets, as the controller would.
    const stored = JSON.parse((await kube.run(['get', 'imagesharepolicies', '-o', 'json'])).stdout) as {
      items: ImageSharePolicy[];
    };
    const decision = evaluate(full, { name: ns, labels: NAMESPACES[ns] ?? {} }, stored.items, TENANCY);
    const r = await run(['apply', '-f', '-'], stringify(obj));
    // validate --policy, from files, must agree with the apiserver: same verdict, same words.
    const offline = await validateOffline(obj);
    expect(offline.valid).toBe(r.code === 0);
    for (const p of offline.problems) expect(r.stderr).toContain(p.message);
    if (expected === 'admit') {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(decision).toEqual({ allowed: true });
      return;
    }
    const [name, rule] = expected;
    expect(r.code).not.toBe(0);
    const head =
      name === 'tenancy baseline' ? `${name} denies rule ${rule}:` : `ImageSharePolicy ${name} denies rule ${rule}:`;
    expect(r.stderr).toContain(head);
    expect(decision).toMatchObject({ allowed: false, policy: name, rule });
    // Same words at both enforcement points.
    if (!decision.allowed) expect(r.stderr).toContain(decision.message);
  });
});

describe('updates', () => {
  it('judges a changed spec, but never blocks a metadata-only patch of an object admitted earlier', async () => {
    await kube.run(['apply', '-f', '-'], {
      input: stringify(
        imageShare('ns-a', 'updated', { sharePolicy: 'Additive', ...own, accounts: ['2222222222222222'] }),
      ),
    });
    // Tighten team-a's recipients afterwards: the object no longer complies.
    await kube.run([
      'patch',
      'imagesharepolicy',
      'team-a',
      '--type=merge',
      '-p',
      '{"spec":{"recipients":{"accounts":["3333*"]}}}',
    ]);
    await eventually(async () => {
      const r = await run(
        ['apply', '--dry-run=server', '-f', '-'],
        stringify(imageShare('ns-a', 'probe2', { sharePolicy: 'Additive', ...own, accounts: ['2222222222222222'] })),
      );
      if (r.code === 0) throw new Error('the tightened team-a is not in force yet');
    });
    const label = await run(['label', 'imageshare', 'updated', '-n', 'ns-a', 'touched=yes']);
    expect({ code: label.code, stderr: label.stderr }).toEqual({ code: 0, stderr: '' });
    const finalizer = await run([
      'patch',
      'imageshare',
      'updated',
      '-n',
      'ns-a',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["ecs.alicloud.dev/cleanup"]}}',
    ]);
    expect(finalizer.code).toBe(0);
    const spec = await run([
      'patch',
      'imageshare',
      'updated',
      '-n',
      'ns-a',
      '--type=merge',
      '-p',
      '{"spec":{"accounts":["2222222222222222","3333000000000002"]}}',
    ]);
    expect(spec.code).not.toBe(0);
    expect(spec.stderr).toContain('ImageSharePolicy team-a denies rule recipients.accounts: accounts 2222222222222222');
    await kube.run([
      'patch',
      'imagesharepolicy',
      'team-a',
      '--type=merge',
      '-p',
      '{"spec":{"recipients":{"accounts":["2222222222222222","3333*"]}}}',
    ]);
  });
});

describe('the ImageSharePolicy CRD', () => {
  it.each([
    [
      { roleArns: ['acs:ram::*:role/x'] },
      "'*' may appear only last",
      'a * in the middle would be a glob CEL cannot express',
    ],
    [{ secretRef: 'maybe' }, 'must be of type boolean', 'the schema types every field'],
  ])('refuses credentials %j with %s (%s)', async (credentials, message, _why) => {
    const r = await run(
      ['apply', '-f', '-'],
      stringify(policy('bad', { namespaceSelector: {}, credentials } as never)),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  it('refuses In without values (a selector the apiserver would reject elsewhere)', async () => {
    const r = await run(
      ['apply', '-f', '-'],
      stringify(policy('bad', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } })),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('operators In and NotIn need at least one value');
  });

  it('documents its fields for kubectl explain and fills the defaults', async () => {
    const explain = await kube.run(['explain', 'imagesharepolicy.spec.credentials.operatorIdentity']);
    expect(explain.stdout).toContain('Whether an ImageShare may omit spec.credentials');
    const got = JSON.parse(
      (await kube.run(['get', 'imagesharepolicy', 'team-c', '-o', 'json'])).stdout,
    ) as ImageSharePolicy;
    expect(got.spec.authoritative).toBe('Allowed');
    const a = JSON.parse(
      (await kube.run(['get', 'imagesharepolicy', 'team-a', '-o', 'json'])).stdout,
    ) as ImageSharePolicy;
    expect(a.spec.community).toBe('Denied');
    expect(a.spec.credentials).toMatchObject({ operatorIdentity: false, secretRef: true });
  });
});

describe('tenancy.mode=open (one helm value)', () => {
  it('drops the baseline, so an untrusted namespace may use the operator identity again; policies still apply', async () => {
    await helmOn([
      'upgrade',
      'isop',
      CHART_DIR,
      '--namespace',
      'isop-system',
      '--reuse-values',
      '--set',
      'tenancy.mode=open',
    ]);
    await eventually(async () => {
      const r = await dryRun('ns-untrusted', {});
      if (r.code !== 0) throw new Error(`the baseline is still in force: ${r.stderr}`);
    });
    const a = await dryRun('ns-a', { sharePolicy: 'Additive' });
    expect(a.stderr).toContain('ImageSharePolicy team-a denies rule credentials.operatorIdentity:');
  });
});
