// A corpus of ImageShare manifests with the verdict the CRD gives them, shared by the offline validator's unit test
// and its agreement test against the real apiserver (test/integration/validate.test.ts). `field` is the field the
// problem is reported on (the apiserver's path), or null for a valid manifest; `message` a substring the offline
// message must contain.

export interface ValidateRow {
  why: string;
  doc: unknown;
  field: string | null;
  message?: string;
}

const VALID = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name: 'golden', namespace: 'platform-images' },
  spec: { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234', accounts: ['1234567890123456'] },
};
const withSpec = (spec: Record<string, unknown>) => ({ ...VALID, spec: { ...VALID.spec, ...spec } });
const without = (key: string) => ({
  ...VALID,
  spec: Object.fromEntries(Object.entries(VALID.spec).filter(([k]) => k !== key)),
});
const many = (n: number) => Array.from({ length: n }, (_, i) => String(2000000000000000 + i));
const role = (arn: unknown) => withSpec({ credentials: { roleArn: arn } });
const secret = (ref: unknown) => withSpec({ credentials: { secretRef: ref } });

const VALID_ROWS: ValidateRow[] = [
  { why: 'the minimal valid object', doc: VALID, field: null },
  {
    why: 'every field set, valid',
    doc: withSpec({
      community: false,
      sharePolicy: 'Additive',
      deletionPolicy: 'Revoke',
      mode: 'Plan',
      suspend: true,
      credentials: { secretRef: { name: 'owner' } },
      resyncInterval: '1h30m',
    }),
    field: null,
  },
  { why: 'community alone, no accounts', doc: withSpec({ accounts: [], community: true }), field: null },
  {
    why: 'an expiring account beside a permanent one',
    doc: withSpec({ expiringAccounts: [{ id: '2234567890123456', expiresAt: '2026-12-10T00:00:00Z' }] }),
    field: null,
  },
  { why: 'exactly 50 accounts', doc: withSpec({ accounts: many(50) }), field: null },
  { why: 'a role ARN', doc: role('acs:ram::1234567890:role/image-owner'), field: null },
  {
    why: 'a 20-digit account ID (the longest accepted)',
    doc: withSpec({ accounts: ['12345678901234567890'] }),
    field: null,
  },
  { why: 'resync at the bounds, written in seconds', doc: withSpec({ resyncInterval: '60s' }), field: null },
  { why: 'a dotted Secret name', doc: secret({ name: 'ecs.owner-keys' }), field: null },
  {
    why: 'labels and annotations in metadata',
    doc: { ...VALID, metadata: { ...VALID.metadata, labels: { a: 'b' }, annotations: { c: 'd' } } },
    field: null,
  },
];

const ACCOUNT = 'an account ID is 1 to 20 decimal digits without a leading zero';
const REGION = 'regionId must be an Alibaba Cloud region ID';
const IMAGE = 'imageId must be a custom image ID';
const ROLE = 'roleArn must be a RAM role ARN';
const SECRET = 'secretRef.name must be a Secret name';
const DURATION = 'resyncInterval must be a Go duration';

const badAccounts: Array<[string, unknown]> = [
  ['a leading zero (ECS never reports one, so it would drift forever)', '0123'],
  ['zero', '0'],
  ['an empty string', ''],
  ['letters', '12345abc'],
  ['a leading space', ' 123'],
  ['a trailing space', '123 '],
  ['scientific notation', '1e15'],
  ['a minus sign', '-1'],
  ['a plus sign', '+1'],
  ['full-width digits', '１２３'],
  ['a decimal point', '12.5'],
  ['21 digits', '123456789012345678901'],
];
const badRegions: Array<[string, unknown]> = [
  ['upper case', 'CN-Hangzhou'],
  ['no dash', 'cnhangzhou'],
  ['a one-letter prefix', 'c-hangzhou'],
  ['an underscore', 'cn_hangzhou'],
  ['a trailing dash', 'cn-'],
  ['a leading dash', '-cn-hangzhou'],
  ['a trailing space', 'cn-hangzhou '],
  ['an empty string', ''],
  ['a dot', 'cn-hang.zhou'],
  ['65 characters', `cn-${'a'.repeat(62)}`],
];
const badImages: Array<[string, unknown]> = [
  ['an img- prefix', 'img-123456789'],
  ['too few characters after m-', 'm-short'],
  ['upper case', 'm-BP18YGJUQNWHECHC1234'],
  ['a dash inside', 'm-bp18ygjuqnwhechc1234-x'],
  ['an upper-case M', 'M-bp18ygjuqnwhechc1234'],
  ['41 characters after m-', `m-${'a'.repeat(41)}`],
  ['an empty string', ''],
  ['a leading space', ' m-bp18ygjuqnwhechc1234'],
];
const badRoles: Array<[string, unknown]> = [
  ['an AWS ARN', 'arn:aws:iam::1:role/x'],
  ['letters for the account', 'acs:ram::abc:role/x'],
  ['no role name', 'acs:ram::1:role/'],
  ['one colon too few', 'acs:ram:1:role/x'],
  ['a user, not a role', 'acs:ram::1:user/x'],
  ['513 characters', `acs:ram::1:role/${'r'.repeat(513 - 'acs:ram::1:role/'.length)}`],
  ['600 characters', `acs:ram::1:role/${'r'.repeat(600)}`],
];
const badSecretNames: Array<[string, unknown]> = [
  ['an underscore and upper case', 'My_Secret'],
  ['a leading dash', '-secret'],
  ['a trailing dash', 'secret-'],
  ['a space', 'my secret'],
  ['254 characters', 'a'.repeat(254)],
];
const badDurations: Array<[string, unknown, string]> = [
  ['below a minute', '30s', 'between 1m and 24h'],
  ['above a day', '25h', 'between 1m and 24h'],
  ['zero', '0m', 'between 1m and 24h'],
  ['a word', 'hourly', DURATION],
  ['no unit', '10', DURATION],
  ['a day unit Go does not have', '1d', DURATION],
  ['a space before the unit', '10 m', DURATION],
  ['a minus sign', '-5m', DURATION],
];

const INVALID_ROWS: ValidateRow[] = [
  ...badAccounts.map(
    ([why, v]): ValidateRow => ({
      why: `an account ID with ${why}`,
      doc: withSpec({ accounts: [v] }),
      field: 'spec.accounts[0]',
      message: why === '21 digits' ? 'more than 20' : ACCOUNT,
    }),
  ),
  {
    why: 'an account ID as a YAML number (precision is lost)',
    doc: withSpec({ accounts: [1234567890123456] }),
    field: 'spec.accounts[0]',
    message: 'must be a string',
  },
  {
    why: 'a null account ID',
    doc: withSpec({ accounts: [null] }),
    field: 'spec.accounts[0]',
    message: 'must be a string',
  },
  ...badRegions.map(
    ([why, v]): ValidateRow => ({
      why: `a region ID with ${why}`,
      doc: withSpec({ regionId: v }),
      field: 'spec.regionId',
      message: why === '65 characters' ? 'more than 64' : REGION,
    }),
  ),
  ...badImages.map(
    ([why, v]): ValidateRow => ({
      why: `an image ID with ${why}`,
      doc: withSpec({ imageId: v }),
      field: 'spec.imageId',
      message: why.startsWith('41') ? 'more than 42' : IMAGE,
    }),
  ),
  ...badRoles.map(
    ([why, v]): ValidateRow => ({
      why: `a role ARN with ${why}`,
      doc: role(v),
      field: 'spec.credentials.roleArn',
      message: why.endsWith('characters') ? 'more than 512' : ROLE,
    }),
  ),
  ...badSecretNames.map(
    ([why, v]): ValidateRow => ({
      why: `a Secret name with ${why}`,
      doc: secret({ name: v }),
      field: 'spec.credentials.secretRef.name',
      message: why === '254 characters' ? 'more than 253' : SECRET,
    }),
  ),
  {
    why: 'an empty Secret name',
    doc: secret({ name: '' }),
    field: 'spec.credentials.secretRef.name',
    message: 'at least 1',
  },
  {
    why: 'a secretRef without a name',
    doc: secret({}),
    field: 'spec.credentials.secretRef.name',
    message: 'Required value',
  },
  ...badDurations.map(
    ([why, v, message]): ValidateRow => ({
      why: `a resync interval of ${why}`,
      doc: withSpec({ resyncInterval: v }),
      field: 'spec.resyncInterval',
      message,
    }),
  ),
  { why: 'a missing imageId', doc: without('imageId'), field: 'spec.imageId', message: 'Required value' },
  { why: 'a missing regionId', doc: without('regionId'), field: 'spec.regionId', message: 'Required value' },
  {
    why: 'a missing spec',
    doc: { apiVersion: VALID.apiVersion, kind: VALID.kind, metadata: VALID.metadata },
    field: 'spec',
    message: 'Required value',
  },
  {
    why: 'an upper-case object name',
    doc: { ...VALID, metadata: { ...VALID.metadata, name: 'Golden' } },
    field: 'metadata.name',
    message: 'DNS subdomain',
  },
  {
    why: '51 accounts (over the ECS limit)',
    doc: withSpec({ accounts: many(51) }),
    field: 'spec.accounts',
    message: 'at most 50',
  },
  {
    why: 'a duplicate account',
    doc: withSpec({ accounts: ['5', '5'] }),
    field: 'spec.accounts[1]',
    message: 'duplicate',
  },
  {
    why: 'accounts as a single string',
    doc: withSpec({ accounts: '1234567890123456' }),
    field: 'spec.accounts',
    message: 'must be a list',
  },
  {
    why: 'community true with accounts',
    doc: withSpec({ community: true }),
    field: 'spec.accounts',
    message: 'community: true cannot be combined with a non-empty accounts list',
  },
  {
    why: 'an unknown share policy',
    doc: withSpec({ sharePolicy: 'Exclusive' }),
    field: 'spec.sharePolicy',
    message: 'must be one of',
  },
  {
    why: 'a share policy in lower case',
    doc: withSpec({ sharePolicy: 'authoritative' }),
    field: 'spec.sharePolicy',
    message: 'must be one of',
  },
  {
    why: 'an unknown deletion policy',
    doc: withSpec({ deletionPolicy: 'Delete' }),
    field: 'spec.deletionPolicy',
    message: 'must be one of',
  },
  { why: 'an unknown mode', doc: withSpec({ mode: 'DryRun' }), field: 'spec.mode', message: 'must be one of' },
  {
    why: 'secretRef and roleArn together',
    doc: withSpec({ credentials: { secretRef: { name: 'a' }, roleArn: 'acs:ram::1:role/x' } }),
    field: 'spec.credentials',
    message: 'mutually exclusive',
  },
  {
    why: 'empty credentials',
    doc: withSpec({ credentials: {} }),
    field: 'spec.credentials',
    message: 'exactly one of secretRef or roleArn',
  },
  {
    why: 'a string where a boolean belongs (suspend)',
    doc: withSpec({ suspend: 'sometimes' }),
    field: 'spec.suspend',
    message: 'true or false',
  },
  {
    why: 'a word where a boolean belongs (community)',
    doc: withSpec({ accounts: [], community: 'enabled' }),
    field: 'spec.community',
    message: 'true or false',
  },
  {
    why: 'an unknown spec field (typo)',
    doc: withSpec({ acounts: ['1'] }),
    field: 'spec.acounts',
    message: 'unknown field',
  },
  { why: 'an unknown top-level field', doc: { ...VALID, specs: {} }, field: 'specs', message: 'unknown field' },
  {
    why: 'an unknown credentials field',
    doc: withSpec({ credentials: { roleArn: 'acs:ram::1:role/x', region: 'cn-hangzhou' } }),
    field: 'spec.credentials.region',
    message: 'unknown field',
  },
  { why: 'a misspelled kind', doc: { ...VALID, kind: 'Imageshare' }, field: 'kind', message: 'case-sensitive' },
  {
    why: 'an API version that does not exist',
    doc: { ...VALID, apiVersion: 'ecs.alicloud.dev/v1' },
    field: 'apiVersion',
    message: 'must be ecs.alicloud.dev/v1alpha1',
  },
];

const expiring = (entries: unknown) => withSpec({ expiringAccounts: entries });
const EXPIRING_ROWS: ValidateRow[] = [
  {
    why: 'an expiring account that is also in accounts (which end would apply?)',
    doc: expiring([{ id: '1234567890123456', expiresAt: '2026-12-10T00:00:00Z' }]),
    field: 'spec.expiringAccounts',
    message: 'an account is listed both in accounts',
  },
  {
    why: 'an expiring account with a malformed ID',
    doc: expiring([{ id: '0123', expiresAt: '2026-12-10T00:00:00Z' }]),
    field: 'spec.expiringAccounts[0].id',
    message: ACCOUNT,
  },
  {
    why: 'an expiresAt that is not a time',
    doc: expiring([{ id: '2234567890123456', expiresAt: 'next tuesday' }]),
    field: 'spec.expiringAccounts[0].expiresAt',
    message: 'RFC 3339',
  },
  {
    why: 'an expiring account without expiresAt',
    doc: expiring([{ id: '2234567890123456' }]),
    field: 'spec.expiringAccounts[0].expiresAt',
    message: 'RFC 3339',
  },
  {
    why: 'the same expiring account twice',
    doc: expiring([
      { id: '2234567890123456', expiresAt: '2026-12-10T00:00:00Z' },
      { id: '2234567890123456', expiresAt: '2026-12-11T00:00:00Z' },
    ]),
    field: 'spec.expiringAccounts[1]',
    message: 'duplicate',
  },
  {
    why: 'community with an expiring account (a community image is visible to everyone already)',
    doc: withSpec({
      accounts: [],
      community: true,
      expiringAccounts: [{ id: '2234567890123456', expiresAt: '2026-12-10T00:00:00Z' }],
    }),
    field: 'spec.expiringAccounts',
    message: 'community: true cannot be combined with expiringAccounts',
  },
  {
    why: 'accounts and expiring accounts together past the 50-account limit',
    doc: withSpec({
      accounts: many(45),
      expiringAccounts: many(6).map((id) => ({ id: `3${id.slice(1)}`, expiresAt: '2026-12-10T00:00:00Z' })),
    }),
    field: 'spec.expiringAccounts',
    message: 'together name more than 50 accounts',
  },
];

const refs = (entries: unknown, spec: Record<string, unknown> = {}) => withSpec({ accountSetRefs: entries, ...spec });
const ACCOUNT_SET_REF_ROWS: ValidateRow[] = [
  {
    why: 'an AccountSet and a ClusterAccountSet next to inline accounts (the union is shared)',
    doc: refs([
      { kind: 'AccountSet', name: 'vendors' },
      { kind: 'ClusterAccountSet', name: 'production' },
    ]),
    field: null,
  },
  {
    why: 'an AccountSet and a ClusterAccountSet of the same name are two different lists',
    doc: refs([
      { kind: 'AccountSet', name: 'production' },
      { kind: 'ClusterAccountSet', name: 'production' },
    ]),
    field: null,
  },
  {
    why: 'a kind that is not an account set (a Secret cannot list recipients)',
    doc: refs([{ kind: 'Secret', name: 'vendors' }]),
    field: 'spec.accountSetRefs[0].kind',
  },
  {
    why: 'a reference without a name points at nothing',
    doc: refs([{ kind: 'AccountSet' }]),
    field: 'spec.accountSetRefs[0].name',
  },
  {
    why: 'the same set named twice (a copy-paste slip; the union would not change)',
    doc: refs([
      { kind: 'ClusterAccountSet', name: 'production' },
      { kind: 'ClusterAccountSet', name: 'production' },
    ]),
    field: 'spec.accountSetRefs',
    message: 'names the same AccountSet or ClusterAccountSet twice',
  },
  {
    why: 'community with account sets (a community image is visible to everyone already)',
    doc: refs([{ kind: 'ClusterAccountSet', name: 'production' }], { accounts: [], community: true }),
    field: 'spec.accountSetRefs',
    message: 'community: true cannot be combined with accountSetRefs',
  },
  {
    why: 'more than 10 references (the bound that keeps the CEL rules cheap)',
    doc: refs(Array.from({ length: 11 }, (_, i) => ({ kind: 'AccountSet', name: `set-${i}` }))),
    field: 'spec.accountSetRefs',
  },
];

export const ROWS: ValidateRow[] = [...VALID_ROWS, ...INVALID_ROWS, ...EXPIRING_ROWS, ...ACCOUNT_SET_REF_ROWS];
