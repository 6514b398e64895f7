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

/** A row for the fleet kinds (crds/imageshareset.yaml, accountset.yaml, clusteraccountset.yaml). */
export interface FleetValidateRow extends ValidateRow {
  kind: 'ImageShareSet' | 'AccountSet' | 'ClusterAccountSet';
}

const SET = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShareSet',
  metadata: { name: 'golden', namespace: 'platform-images' },
  spec: { selector: { imageFamily: 'golden-ubuntu' }, regions: ['cn-hangzhou'], accounts: ['1234567890123456'] },
};
const setSpec = (spec: Record<string, unknown>) => ({ ...SET, spec: { ...SET.spec, ...spec } });
const setRow = (why: string, doc: unknown, field: string | null, message?: string): FleetValidateRow => ({
  kind: 'ImageShareSet',
  why,
  doc,
  field,
  ...(message === undefined ? {} : { message }),
});
const accountSet = (kind: 'AccountSet' | 'ClusterAccountSet', accounts: unknown, extra: object = {}) => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind,
  metadata: kind === 'AccountSet' ? { name: 'prod', namespace: 'platform-images' } : { name: 'prod' },
  spec: { accounts, ...extra },
});
const accRow = (
  kind: 'AccountSet' | 'ClusterAccountSet',
  why: string,
  doc: unknown,
  field: string | null,
  message?: string,
): FleetValidateRow => ({ kind, why, doc, field, ...(message === undefined ? {} : { message }) });
const ID = '1234567890123456';

export const FLEET_ROWS: FleetValidateRow[] = [
  setRow('the minimal valid set (family, one region, one account)', SET, null),
  setRow(
    'every field set, valid',
    setSpec({
      selector: { imageFamily: 'golden-ubuntu', tags: { team: 'platform', release: '' }, namePrefix: 'golden-' },
      regions: ['cn-hangzhou', 'ap-southeast-1'],
      keep: { latest: 3 },
      maxChildren: 10,
      discoveryInterval: '5m',
      expiringAccounts: [{ id: '2234567890123456', expiresAt: '2026-12-10T00:00:00Z' }],
      accountSetRefs: [
        { kind: 'AccountSet', name: 'prod' },
        { kind: 'ClusterAccountSet', name: 'org' },
      ],
      sharePolicy: 'Additive',
      deletionPolicy: 'Revoke',
      mode: 'Plan',
      suspend: true,
      credentials: { secretRef: { name: 'owner' } },
      resyncInterval: '1h',
    }),
    null,
  ),
  setRow('keep: all instead of latest', setSpec({ keep: { all: true } }), null),
  setRow('a selector by tags only', setSpec({ selector: { tags: { pipeline: 'golden' } } }), null),
  setRow('community alone publishes every kept build', setSpec({ accounts: [], community: true }), null),
  setRow('a 40-character name (the longest)', { ...SET, metadata: { ...SET.metadata, name: 'a'.repeat(40) } }, null),
  setRow(
    'a 41-character name: the children (<set>-<region>-<imageId>) would not fit an object name',
    { ...SET, metadata: { ...SET.metadata, name: 'a'.repeat(41) } },
    '',
    'an ImageShareSet name is at most 40 characters',
  ),
  setRow(
    'an empty selector would select every image the credentials own',
    setSpec({ selector: {} }),
    'spec.selector',
    'selector needs at least one of imageFamily, tags or namePrefix',
  ),
  setRow(
    'an empty family is no criterion either',
    setSpec({ selector: { imageFamily: '' } }),
    'spec.selector',
    'selector needs at least one of imageFamily, tags or namePrefix',
  ),
  setRow('a missing selector', { ...SET, spec: { regions: ['cn-hangzhou'] } }, 'spec.selector', 'Required value'),
  setRow(
    'a misspelled selector field',
    setSpec({ selector: { imageFamily: 'x', family: 'x' } }),
    'spec.selector.family',
    'unknown',
  ),
  setRow(
    'a family longer than 128 characters',
    setSpec({ selector: { imageFamily: 'f'.repeat(129) } }),
    'spec.selector.imageFamily',
    'more than 128',
  ),
  setRow(
    'more than 20 tags (the DescribeImages filter limit)',
    setSpec({ selector: { tags: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) } }),
    'spec.selector.tags',
  ),
  setRow('no regions', setSpec({ regions: [] }), 'spec.regions'),
  setRow('a missing regions list', { ...SET, spec: { selector: SET.spec.selector } }, 'spec.regions', 'Required value'),
  setRow(
    'a region in upper case',
    setSpec({ regions: ['cn-hangzhou', 'CN-Beijing'] }),
    'spec.regions[1]',
    'a region must be an Alibaba Cloud region ID',
  ),
  setRow('the same region twice', setSpec({ regions: ['cn-hangzhou', 'cn-hangzhou'] }), 'spec.regions[1]'),
  setRow(
    '31 regions',
    setSpec({ regions: Array.from({ length: 31 }, (_, i) => `cn-r${i}`) }),
    'spec.regions',
    'at most 30',
  ),
  setRow(
    'keep with both latest and all',
    setSpec({ keep: { latest: 2, all: true } }),
    'spec.keep',
    'keep must set exactly one of latest: N or all: true',
  ),
  setRow(
    'keep with neither',
    setSpec({ keep: {} }),
    'spec.keep',
    'keep must set exactly one of latest: N or all: true',
  ),
  setRow('keep latest 0 (nothing would be shared)', setSpec({ keep: { latest: 0 } }), 'spec.keep.latest'),
  setRow('keep latest 101', setSpec({ keep: { latest: 101 } }), 'spec.keep.latest'),
  setRow('keep latest as a string', setSpec({ keep: { latest: '2' } }), 'spec.keep.latest'),
  setRow('maxChildren 0', setSpec({ maxChildren: 0 }), 'spec.maxChildren'),
  setRow('maxChildren above 1000', setSpec({ maxChildren: 1001 }), 'spec.maxChildren'),
  setRow(
    'a discovery interval below 10s would hammer DescribeImages',
    setSpec({ discoveryInterval: '5s' }),
    'spec.discoveryInterval',
    'discoveryInterval must be between 10s and 24h',
  ),
  setRow(
    'a discovery interval above a day',
    setSpec({ discoveryInterval: '25h' }),
    'spec.discoveryInterval',
    'discoveryInterval must be between 10s and 24h',
  ),
  setRow(
    'a discovery interval in days (not a Go unit)',
    setSpec({ discoveryInterval: '1d' }),
    'spec.discoveryInterval',
  ),
  setRow(
    'community with accounts',
    setSpec({ community: true }),
    'spec.accounts',
    'community: true cannot be combined with a non-empty accounts list',
  ),
  setRow(
    'community with account set references',
    setSpec({ accounts: [], community: true, accountSetRefs: [{ kind: 'AccountSet', name: 'prod' }] }),
    'spec.accountSetRefs',
    'community: true cannot be combined with accountSetRefs',
  ),
  setRow(
    'community with expiring accounts',
    setSpec({ accounts: [], community: true, expiringAccounts: [{ id: ID, expiresAt: '2026-12-10T00:00:00Z' }] }),
    'spec.expiringAccounts',
    'community: true cannot be combined with expiringAccounts',
  ),
  setRow(
    'an expiring account also in accounts',
    setSpec({ expiringAccounts: [{ id: ID, expiresAt: '2026-12-10T00:00:00Z' }] }),
    'spec.expiringAccounts',
    'an account is listed both in accounts',
  ),
  setRow(
    'a reference to a kind that is not an account set',
    setSpec({ accountSetRefs: [{ kind: 'Secret', name: 'prod' }] }),
    'spec.accountSetRefs[0].kind',
  ),
  setRow(
    'a reference without a name',
    setSpec({ accountSetRefs: [{ kind: 'AccountSet' }] }),
    'spec.accountSetRefs[0].name',
    'Required value',
  ),
  setRow(
    '11 account set references',
    setSpec({ accountSetRefs: Array.from({ length: 11 }, (_, i) => ({ kind: 'AccountSet', name: `s${i}` })) }),
    'spec.accountSetRefs',
  ),
  setRow(
    'an account ID with a leading zero',
    setSpec({ accounts: ['0123'] }),
    'spec.accounts[0]',
    'an account ID is 1 to 20 decimal digits',
  ),
  setRow('an unknown deletion policy', setSpec({ deletionPolicy: 'Delete' }), 'spec.deletionPolicy', 'must be one of'),
  setRow(
    'secretRef and roleArn together',
    setSpec({ credentials: { secretRef: { name: 'a' }, roleArn: 'acs:ram::1:role/x' } }),
    'spec.credentials',
    'mutually exclusive',
  ),
  setRow(
    'a resync interval below a minute (copied to every child)',
    setSpec({ resyncInterval: '30s' }),
    'spec.resyncInterval',
    'resyncInterval must be between 1m and 24h',
  ),
  setRow('a typo in a spec field', setSpec({ region: ['cn-hangzhou'] }), 'spec.region', 'unknown field'),
  setRow('a misspelled kind', { ...SET, kind: 'ImageshareSet' }, 'kind', 'case-sensitive'),

  accRow('AccountSet', 'the minimal account set', accountSet('AccountSet', [{ id: ID }]), null),
  accRow(
    'AccountSet',
    'accounts with descriptions',
    accountSet('AccountSet', [
      { id: ID, description: 'production' },
      { id: '2234567890123456', description: 'vendor X, until June' },
    ]),
    null,
  ),
  accRow('AccountSet', 'an empty list is a valid (empty) set', accountSet('AccountSet', []), null),
  accRow(
    'AccountSet',
    'an account ID with a leading zero',
    accountSet('AccountSet', [{ id: '0123' }]),
    'spec.accounts[0].id',
    'an account ID is 1 to 20 decimal digits',
  ),
  accRow(
    'AccountSet',
    'an account ID as a YAML number',
    accountSet('AccountSet', [{ id: 1234567890123456 }]),
    'spec.accounts[0].id',
  ),
  accRow(
    'AccountSet',
    'an entry without an id',
    accountSet('AccountSet', [{ description: 'x' }]),
    'spec.accounts[0].id',
  ),
  accRow(
    'AccountSet',
    'the same account twice',
    accountSet('AccountSet', [{ id: ID }, { id: ID }]),
    'spec.accounts[1]',
  ),
  accRow('AccountSet', 'a bare ID string instead of {id}', accountSet('AccountSet', [ID]), 'spec.accounts[0]'),
  accRow(
    'AccountSet',
    '51 accounts (over the ECS limit per image)',
    accountSet(
      'AccountSet',
      many(51).map((id) => ({ id })),
    ),
    'spec.accounts',
  ),
  accRow(
    'AccountSet',
    'a description over 256 characters',
    accountSet('AccountSet', [{ id: ID, description: 'd'.repeat(257) }]),
    'spec.accounts[0].description',
  ),
  accRow('AccountSet', 'a missing accounts list', accountSet('AccountSet', undefined), 'spec.accounts', 'Required'),
  accRow(
    'AccountSet',
    'a typo in an entry',
    accountSet('AccountSet', [{ id: ID, descripton: 'x' }]),
    'spec.accounts[0].descripton',
    'unknown field',
  ),
  accRow('ClusterAccountSet', 'the minimal cluster account set', accountSet('ClusterAccountSet', [{ id: ID }]), null),
  accRow(
    'ClusterAccountSet',
    'a cluster account set with a letter in an ID',
    accountSet('ClusterAccountSet', [{ id: '12345a' }]),
    'spec.accounts[0].id',
    'an account ID is 1 to 20 decimal digits',
  ),
  accRow(
    'ClusterAccountSet',
    'a cluster account set with an unknown spec field',
    accountSet('ClusterAccountSet', [{ id: ID }], { members: [] }),
    'spec.members',
    'unknown field',
  ),
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
