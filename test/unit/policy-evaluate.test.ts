// Behaviour table for src/policy/evaluate.ts (docs/adr/0024): each row is an ImageShare spec in a namespace, under a
// set of policies and a tenancy mode, with the expected decision and why.
import { describe, expect, it } from '@jest/globals';
import type { ImageSharePolicy, ImageSharePolicySpec, LabelSelector } from '../../src/api/policy-types.ts';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { evaluate, matchesPattern, selects, type Tenancy } from '../../src/policy/evaluate.ts';

const pol = (name: string, spec: Partial<ImageSharePolicySpec>): ImageSharePolicy => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageSharePolicy',
  metadata: { name },
  spec: { namespaceSelector: {}, ...spec },
});
const OPEN: Tenancy = { mode: 'open', trustedNamespaces: [] };
const RESTRICTED: Tenancy = { mode: 'restricted', trustedNamespaces: ['platform'] };
const ROLE = 'acs:ram::1111111111111111:role/team-a-sharer';
const own = { credentials: { secretRef: { name: 'keys' } } };
const base: ImageShareSpec = { regionId: 'cn-hangzhou', imageId: 'm-bp1abcdefgh' };
const A = { name: 'team-a', labels: { team: 'a', 'kubernetes.io/metadata.name': 'team-a' } };
const P = { name: 'platform', labels: { 'kubernetes.io/metadata.name': 'platform' } };

type Row = [
  why: string,
  spec: Partial<ImageShareSpec>,
  ns: { name: string; labels: Record<string, string> },
  policies: ImageSharePolicy[],
  tenancy: Tenancy,
  expected: 'allow' | [policy: string, rule: string],
];
const ROWS: Row[] = [
  ['open mode with no policy is the 0.1 behaviour: anything goes', {}, A, [], OPEN, 'allow'],
  [
    'restricted mode: an untrusted namespace may not use the operator identity',
    {},
    A,
    [],
    RESTRICTED,
    ['tenancy baseline', 'tenancy.trustedNamespaces'],
  ],
  [
    'restricted mode: nor assume a role from it',
    { credentials: { roleArn: ROLE } },
    A,
    [],
    RESTRICTED,
    ['tenancy baseline', 'tenancy.trustedNamespaces'],
  ],
  ['restricted mode: its own keys are fine', own, A, [], RESTRICTED, 'allow'],
  ['restricted mode: a trusted namespace may use the operator identity', {}, P, [], RESTRICTED, 'allow'],
  [
    'the baseline is checked before policies',
    {},
    A,
    [pol('x', { recipients: { accounts: [] } })],
    RESTRICTED,
    ['tenancy baseline', 'tenancy.trustedNamespaces'],
  ],
  [
    'operatorIdentity defaults to false in a selecting policy',
    {},
    A,
    [pol('p', {})],
    OPEN,
    ['p', 'credentials.operatorIdentity'],
  ],
  [
    'operatorIdentity true allows objects without credentials',
    {},
    A,
    [pol('p', { credentials: { operatorIdentity: true } })],
    OPEN,
    'allow',
  ],
  ['secretRef defaults to allowed', own, A, [pol('p', {})], OPEN, 'allow'],
  [
    'secretRef false refuses a secretRef',
    own,
    A,
    [pol('p', { credentials: { secretRef: false } })],
    OPEN,
    ['p', 'credentials.secretRef'],
  ],
  [
    'no roleArns means no role',
    { credentials: { roleArn: ROLE } },
    A,
    [pol('p', {})],
    OPEN,
    ['p', 'credentials.roleArns'],
  ],
  [
    'a prefix pattern allows a matching role',
    { credentials: { roleArn: ROLE } },
    A,
    [pol('p', { credentials: { roleArns: ['acs:ram::1111111111111111:role/team-a-*'] } })],
    OPEN,
    'allow',
  ],
  [
    'an exact pattern is not a prefix',
    { credentials: { roleArn: ROLE } },
    A,
    [pol('p', { credentials: { roleArns: ['acs:ram::1111111111111111:role/team-a'] } })],
    OPEN,
    ['p', 'credentials.roleArns'],
  ],
  [
    'a lone * allows any role',
    { credentials: { roleArn: ROLE } },
    A,
    [pol('p', { credentials: { roleArns: ['*'] } })],
    OPEN,
    'allow',
  ],
  [
    'a region outside the list is refused',
    { ...own, regionId: 'ap-southeast-1' },
    A,
    [pol('p', { images: { regions: ['cn-*'] } })],
    OPEN,
    ['p', 'images.regions'],
  ],
  [
    'an image ID outside the patterns is refused',
    { ...own, imageId: 'm-zz1abcdefgh' },
    A,
    [pol('p', { images: { imageIds: ['m-bp1*'] } })],
    OPEN,
    ['p', 'images.imageIds'],
  ],
  [
    'an empty imageIds list allows no image',
    own,
    A,
    [pol('p', { images: { imageIds: [] } })],
    OPEN,
    ['p', 'images.imageIds'],
  ],
  [
    'every recipient must match a pattern',
    { ...own, accounts: ['2222222222222222', '9999999999999999'] },
    A,
    [pol('p', { recipients: { accounts: ['2222*'] } })],
    OPEN,
    ['p', 'recipients.accounts'],
  ],
  [
    'an expiring account is a recipient too: one outside the patterns refuses the object, in force or not',
    {
      ...own,
      accounts: ['2222222222222222'],
      expiringAccounts: [{ id: '9999999999999999', expiresAt: '2020-01-01T00:00:00Z' }],
    },
    A,
    [pol('p', { recipients: { accounts: ['2222*'] } })],
    OPEN,
    ['p', 'recipients.accounts'],
  ],
  [
    'recipients all matching are allowed',
    { ...own, accounts: ['2222222222222222', '3333333333333333'] },
    A,
    [pol('p', { recipients: { accounts: ['2222*', '3333333333333333'] } })],
    OPEN,
    'allow',
  ],
  [
    'no recipients list means any account',
    { ...own, accounts: ['9999999999999999'] },
    A,
    [pol('p', {})],
    OPEN,
    'allow',
  ],
  ['community true is denied by default', { ...own, community: true }, A, [pol('p', {})], OPEN, ['p', 'community']],
  [
    'community true with Allowed passes',
    { ...own, community: true },
    A,
    [pol('p', { community: 'Allowed' })],
    OPEN,
    'allow',
  ],
  [
    'community false (unpublish) never needs an allowance',
    { ...own, community: false },
    A,
    [pol('p', {})],
    OPEN,
    'allow',
  ],
  [
    'an omitted sharePolicy is Authoritative, refused when Denied',
    own,
    A,
    [pol('p', { authoritative: 'Denied' })],
    OPEN,
    ['p', 'authoritative'],
  ],
  [
    'Additive passes when Authoritative is Denied',
    { ...own, sharePolicy: 'Additive' },
    A,
    [pol('p', { authoritative: 'Denied' })],
    OPEN,
    'allow',
  ],
  [
    'a policy that does not select the namespace is ignored',
    {},
    A,
    [pol('p', { namespaceSelector: { matchLabels: { team: 'b' } } })],
    OPEN,
    'allow',
  ],
  [
    'two selecting policies: both must allow (intersection, not union)',
    { credentials: { roleArn: ROLE } },
    A,
    [pol('roles', { credentials: { roleArns: ['*'] } }), pol('recips', { recipients: { accounts: ['1*'] } })],
    OPEN,
    ['recips', 'credentials.roleArns'],
  ],
  [
    'two selecting policies that both allow',
    { credentials: { roleArn: ROLE } },
    A,
    [pol('roles', { credentials: { roleArns: ['*'] } }), pol('more', { credentials: { roleArns: [ROLE] } })],
    OPEN,
    'allow',
  ],
  [
    'several denying policies: the first by name is reported',
    {},
    A,
    [pol('zeta', {}), pol('alpha', {})],
    OPEN,
    ['alpha', 'credentials.operatorIdentity'],
  ],
  [
    'within one policy the first rule in order is reported',
    { ...own, regionId: 'ap-southeast-1', community: true },
    A,
    [pol('p', { images: { regions: ['cn-*'] } })],
    OPEN,
    ['p', 'images.regions'],
  ],
];

describe('evaluate()', () => {
  it.each(ROWS)('%s', (_why, spec, ns, policies, tenancy, expected) => {
    const d = evaluate({ ...base, ...spec }, ns, policies, tenancy);
    if (expected === 'allow') {
      expect(d).toEqual({ allowed: true });
      return;
    }
    const [policy, rule] = expected;
    expect(d).toMatchObject({ allowed: false, policy, rule });
    if (!d.allowed) {
      const head = policy === 'tenancy baseline' ? policy : `ImageSharePolicy ${policy}`;
      expect(d.message.startsWith(`${head} denies rule ${rule}: `)).toBe(true);
    }
  });

  it('names the offending recipients and the allowed patterns in the message', () => {
    const d = evaluate(
      { ...base, ...own, accounts: ['2222222222222222', '9999999999999999', '8888888888888888'] },
      A,
      [pol('p', { recipients: { accounts: ['2222*'] } })],
      OPEN,
    );
    expect(d).toMatchObject({
      message:
        'ImageSharePolicy p denies rule recipients.accounts: accounts 9999999999999999, 8888888888888888 match none of the allowed recipients (2222*)',
    });
  });
});

describe('patterns and selectors', () => {
  it.each([
    ['m-bp1abc', 'm-bp1abc', true, 'exact'],
    ['m-bp1*', 'm-bp1abc', true, 'prefix'],
    ['m-bp1*', 'm-bp2abc', false, 'another prefix'],
    ['*', 'anything', true, 'a lone * matches anything'],
    ['m-bp1', 'm-bp1abc', false, 'no * means exact, never prefix'],
    ['m-*1', 'm-x1', false, 'a * that is not last is a literal'],
  ])('%s against %s is %s (%s)', (pattern, value, expected, _why) => {
    expect(matchesPattern(pattern, value)).toBe(expected);
  });

  it.each([
    [{}, {}, true, 'an empty selector selects every namespace'],
    [{ matchLabels: { team: 'a' } }, { team: 'a' }, true, 'matchLabels equal'],
    [{ matchLabels: { team: 'a' } }, { team: 'b' }, false, 'matchLabels differ'],
    [
      { matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['prod'] }] },
      {},
      false,
      'In needs the label',
    ],
    [
      { matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['qa'] }] },
      {},
      true,
      'NotIn holds when the label is absent (Kubernetes semantics)',
    ],
    [
      { matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['qa'] }] },
      { env: 'qa' },
      false,
      'NotIn with a listed value',
    ],
    [
      { matchExpressions: [{ key: 'env', operator: 'Exists' as const }] },
      { env: '' },
      true,
      'Exists with an empty value',
    ],
    [
      { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' as const }] },
      { legacy: 'x' },
      false,
      'DoesNotExist with the label',
    ],
  ] as [LabelSelector, Record<string, string>, boolean, string][])(
    '%j over %j is %s (%s)',
    (selector, labels, expected, _why) => {
      expect(selects(selector, labels)).toBe(expected);
    },
  );
});
