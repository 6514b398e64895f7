// Shared world for the ECS adapter's contract tests: one owner with a fake key, 200 known recipients on the
// owner's site, one recipient on another site, a region with and one without community images.
import type { SeedImage, SeedInput, SeedOwner } from '../emulator/seed.ts';
import type { CloudCredentials } from '../../src/cloud/port.ts';

export const OWNER = '1000000000000001';
export const KEY_ID = 'LTAItestAdapterOwner01';
export const KEY_SECRET = 'test-only-secret-adapter-owner';
export const REGION = 'cn-hangzhou';
export const NO_COMMUNITY_REGION = 'eu-central-1';
/** Known recipients on the owner's site: RECIPIENTS[0] .. RECIPIENTS[199]. */
export const RECIPIENTS: readonly string[] = Array.from({ length: 200 }, (_, i) =>
  String(2000000000000001n + BigInt(i)),
);
/** A known account on the China site (the owner is International): BidMismatch. */
export const OTHER_SITE = '3000000000000001';
/** Not known to the world at all: InvalidAccount.NotFound. */
export const UNKNOWN = '2999999999999999';
export const CREDS: CloudCredentials = { type: 'static', accessKeyId: KEY_ID, accessKeySecret: KEY_SECRET };

export function recipient(i: number): string {
  const id = RECIPIENTS[i];
  if (id === undefined) throw new RangeError(`no recipient ${i}`);
  return id;
}

type ImageInput = NonNullable<SeedInput['images']>[number];

/** A seed with `m-test` (plain, Available, in REGION) plus overrides, extra images and owner/option tweaks. */
export function world(
  t: {
    image?: Partial<Omit<SeedImage, 'sharedWith'>> & { sharedWith?: string[] };
    owner?: Partial<Omit<SeedOwner, 'id' | 'keys'>>;
    options?: SeedInput['options'];
    extraImages?: ImageInput[];
  } = {},
): SeedInput {
  const image: ImageInput = {
    id: 'm-test',
    region: REGION,
    owner: OWNER,
    name: 'golden-ubuntu',
    description: '',
    ...t.image,
  };
  return {
    ...(t.options ? { options: t.options } : {}),
    owners: [
      {
        id: OWNER,
        site: 'international',
        agreementSigned: true,
        shareEncryptedRole: true,
        launchPermissionPreview: false,
        shareImageQuota: 100,
        ...t.owner,
        keys: [{ accessKeyId: KEY_ID, accessKeySecret: KEY_SECRET }],
      },
    ],
    accounts: [
      ...RECIPIENTS.map((id) => ({ id, site: 'international' as const })),
      { id: OTHER_SITE, site: 'china' as const },
    ],
    regions: [
      { id: REGION, community: true },
      { id: NO_COMMUNITY_REGION, community: false },
    ],
    sensitiveWords: ['gambling'],
    images: [image, ...(t.extraImages ?? [])],
  };
}
