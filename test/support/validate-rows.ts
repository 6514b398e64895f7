// ImageShare manifests with the verdict the CRD gives them, shared by the offline validator's unit test and its
// agreement test against the real apiserver.

const VALID = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name: 'golden', namespace: 'platform-images' },
  spec: { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234', accounts: ['1234567890123456'] },
};
const withSpec = (spec: Record<string, unknown>) => ({ ...VALID, spec: { ...VALID.spec, ...spec } });
const many = (n: number) => Array.from({ length: n }, (_, i) => String(2000000000000000 + i));

/** Rows shared with the apiserver agreement test: `problem` is a substring of the offline message, or null. */
export const ROWS: Array<{ why: string; doc: unknown; problem: string | null }> = [
  { why: 'the minimal valid object', doc: VALID, problem: null },
  { why: 'every field set, valid', doc: withSpec({ community: false, sharePolicy: 'Additive', deletionPolicy: 'Revoke', mode: 'Plan', suspend: true, credentials: { secretRef: { name: 'owner' } }, resyncInterval: '1h30m' }), problem: null },
  { why: 'community alone, no accounts', doc: withSpec({ accounts: [], community: true }), problem: null },
  { why: 'exactly 50 accounts', doc: withSpec({ accounts: many(50) }), problem: null },
  { why: 'a role ARN', doc: withSpec({ credentials: { roleArn: 'acs:ram::1234567890:role/image-owner' } }), problem: null },
  { why: 'an upper-case region', doc: withSpec({ regionId: 'CN-Hangzhou' }), problem: 'spec.regionId' },
  { why: 'an image ID without m-', doc: withSpec({ imageId: 'img-123456789' }), problem: 'spec.imageId' },
  { why: 'a missing imageId', doc: { ...VALID, spec: { regionId: 'cn-hangzhou' } }, problem: 'spec.imageId: Required' },
  { why: 'a non-digit account', doc: withSpec({ accounts: ['12345abc'] }), problem: 'spec.accounts[0]' },
  { why: 'an account with a leading zero (ECS never reports one, so it would drift forever)', doc: withSpec({ accounts: ['0123'] }), problem: 'spec.accounts[0]' },
  { why: '51 accounts', doc: withSpec({ accounts: many(51) }), problem: 'at most 50' },
  { why: 'a duplicate account', doc: withSpec({ accounts: ['5', '5'] }), problem: 'duplicate' },
  { why: 'community true with accounts', doc: withSpec({ community: true }), problem: 'community: true cannot be combined with accounts' },
  { why: 'an unknown share policy', doc: withSpec({ sharePolicy: 'Exclusive' }), problem: 'spec.sharePolicy' },
  { why: 'an unknown mode', doc: withSpec({ mode: 'DryRun' }), problem: 'spec.mode' },
  { why: 'secretRef and roleArn together', doc: withSpec({ credentials: { secretRef: { name: 'a' }, roleArn: 'acs:ram::1:role/x' } }), problem: 'exactly one of' },
  { why: 'empty credentials', doc: withSpec({ credentials: {} }), problem: 'exactly one of' },
  { why: 'a malformed role ARN', doc: withSpec({ credentials: { roleArn: 'arn:aws:iam::1:role/x' } }), problem: 'roleArn' },
  { why: 'a resync below a minute', doc: withSpec({ resyncInterval: '30s' }), problem: 'between 1m and 24h' },
  { why: 'a resync above a day', doc: withSpec({ resyncInterval: '25h' }), problem: 'between 1m and 24h' },
  { why: 'a resync that is not a duration', doc: withSpec({ resyncInterval: 'hourly' }), problem: 'not a duration' },
  { why: 'an unknown spec field (typo)', doc: withSpec({ acounts: ['1'] }), problem: 'spec.acounts: unknown field' },
  { why: 'a string where a boolean belongs', doc: withSpec({ suspend: 'sometimes' }), problem: 'spec.suspend' },
];

