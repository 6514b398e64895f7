// The seeded ECS world shared by the operator integration suite: one owner (the operator's own identity), a second
// owner, 80 recipient accounts on the owner's site and one on another site, and one image per scenario so scenarios
// never disturb each other's call counts.
import type { SeedInput } from '../emulator/seed.ts';

export const OWNER = '1000000000000001';
export const OWNER_KEY = { accessKeyId: 'LTAItestoperator01', accessKeySecret: 'itest-operator-secret-0001' };
/** A second key of the same owner, handed to objects through a Secret. */
export const SECRET_KEY = { accessKeyId: 'LTAItestsecretref1', accessKeySecret: 'itest-secretref-secret-0001' };
/** A key that may only read: ModifyImageSharePermission answers Forbidden.RAM. */
export const READONLY_KEY = { accessKeyId: 'LTAItestreadonly01', accessKeySecret: 'itest-readonly-secret-0001' };
/** Keys of owners whose account-level settings make one rule fail (handed to objects through Secrets). */
export const NO_AGREEMENT_KEY = { accessKeyId: 'LTAItestnoagree001', accessKeySecret: 'itest-noagree-secret-0001' };
export const NO_ROLE_KEY = { accessKeyId: 'LTAItestnorole0001', accessKeySecret: 'itest-norole-secret-0001' };
export const NO_QUOTA_KEY = { accessKeyId: 'LTAItestnoquota001', accessKeySecret: 'itest-noquota-secret-0001' };
export const EXPIRED_STS_KEY = {
  accessKeyId: 'STS.testexpired001',
  accessKeySecret: 'itest-sts-secret-0001',
  securityToken: 'itest-sts-token-0001',
};
export const OTHER_SITE_ACCOUNT = '3000000000000001';
export const UNKNOWN_ACCOUNT = '4000000000000001';

export const account = (i: number) => String(2000000000000000 + i);
export const accounts = (from: number, n: number) => Array.from({ length: n }, (_, i) => account(from + i));

export const REGION = 'cn-hangzhou';
export const NO_COMMUNITY_REGION = 'cn-shanghai';

/** Image IDs by scenario. Images not listed get the defaults (Available, unencrypted, owner OWNER, REGION). */
const SPECIAL: Record<string, Record<string, unknown>> = {
  'm-deprecated01': { status: 'Deprecated' },
  'm-servicekey01': { encryption: 'service-key' },
  'm-sensitive001': { name: 'gambling-golden' },
  'm-notmine00001': { owner: '1000000000000002' },
  'm-noregion0001': { region: NO_COMMUNITY_REGION },
  'm-community001': { community: true },
  'm-fullimage001': { encryption: 'cmk', snapshots: 2 },
  'm-legacyenc001': { encryption: 'legacy' },
  'm-kmsunauth001': { encryption: 'cmk', kms: 'unauthorized' },
  'm-kmsdisabl001': { encryption: 'cmk', kms: 'disabled' },
  'm-kmsmissin001': { encryption: 'cmk', kms: 'missing' },
  'm-cmkpublish01': { encryption: 'cmk' },
  'm-sharedtous01': { owner: '1000000000000002', sharedWith: [OWNER] },
  'm-noagree00001': { owner: '1000000000000003' },
  'm-norole000001': { owner: '1000000000000004', encryption: 'cmk' },
  'm-noquota00001': { owner: '1000000000000005' },
};

export function operatorWorld(imageIds: readonly string[]): SeedInput {
  return {
    owners: [
      {
        id: OWNER,
        site: 'international',
        agreementSigned: true,
        shareEncryptedRole: true,
        keys: [
          OWNER_KEY,
          SECRET_KEY,
          { ...EXPIRED_STS_KEY, expired: true },
          { ...READONLY_KEY, allowedActions: ['DescribeImages', 'DescribeImageSharePermission'] },
        ],
      },
      {
        id: '1000000000000002',
        site: 'international',
        keys: [{ accessKeyId: 'LTAItestotherown1', accessKeySecret: 'itest-other-owner-secret' }],
      },
      { id: '1000000000000003', site: 'international', agreementSigned: false, keys: [NO_AGREEMENT_KEY] },
      { id: '1000000000000004', site: 'international', shareEncryptedRole: false, keys: [NO_ROLE_KEY] },
      { id: '1000000000000005', site: 'international', shareImageQuota: 0, keys: [NO_QUOTA_KEY] },
    ],
    accounts: [
      ...accounts(1, 80).map((id) => ({ id, site: 'international' as const })),
      { id: OTHER_SITE_ACCOUNT, site: 'china' as const },
    ],
    regions: [
      { id: REGION, community: true },
      { id: NO_COMMUNITY_REGION, community: false },
    ],
    sensitiveWords: ['gambling'],
    images: [...new Set([...imageIds, ...Object.keys(SPECIAL)])].map((id) => ({
      id,
      region: REGION,
      owner: OWNER,
      name: `golden-${id}`,
      ...SPECIAL[id],
    })),
  };
}
