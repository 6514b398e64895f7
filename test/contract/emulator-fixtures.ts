// Shared world and SDK plumbing for the emulator's contract tests. Clients are the unmodified
// @alicloud/ecs20140526 SDK with only endpoint/protocol/timeouts changed; errors are the SDK's own thrown objects.
import Ecs from '@alicloud/ecs20140526';
import OpenApi from '@alicloud/openapi-core';
import type { Emulator } from '../emulator/server.ts';
import type { SeedInput } from '../emulator/seed.ts';

export { Ecs };

export const OWNER = '1000000000000001';
export const OTHER_OWNER = '1000000000000002';
export const REGION = 'cn-hangzhou';
export const NO_COMMUNITY_REGION = 'eu-central-1';
export const KEY = { accessKeyId: 'LTAItestEmuOwner0001', accessKeySecret: 'test-only-secret-emu-owner' } as const;
export const STS_KEY = {
  accessKeyId: 'STS.testEmuOwner0001',
  accessKeySecret: 'test-only-secret-emu-sts',
  securityToken: 'test-only-sts-token-emu',
} as const;
export const OTHER_KEY = {
  accessKeyId: 'LTAItestEmuOther0001',
  accessKeySecret: 'test-only-secret-emu-other',
} as const;
/** Known recipients on the owner's (international) site. */
export const RECIPIENTS: readonly string[] = Array.from({ length: 60 }, (_, i) =>
  String(2000000000000001n + BigInt(i)),
);
export const OTHER_SITE = '3000000000000001';
export const UNKNOWN = '2999999999999999';
export const IMAGE = 'm-emutest0001';

export function rcp(i: number): string {
  const id = RECIPIENTS[i];
  if (id === undefined) throw new RangeError(`no recipient ${i}`);
  return id;
}

type ImageInput = NonNullable<SeedInput['images']>[number];
type OwnerInput = NonNullable<SeedInput['owners']>[number];

/** The base world: OWNER (signed agreement, encrypted-share role, two keys) with IMAGE, plus OTHER_OWNER. */
export function baseSeed(
  t: {
    image?: Partial<ImageInput>;
    owner?: Partial<OwnerInput>;
    options?: SeedInput['options'];
    images?: ImageInput[];
  } = {},
): SeedInput {
  return {
    ...(t.options ? { options: t.options } : {}),
    owners: [
      {
        id: OWNER,
        site: 'international',
        agreementSigned: true,
        shareEncryptedRole: true,
        shareImageQuota: 100,
        keys: [{ ...KEY }, { ...STS_KEY }],
        ...t.owner,
      },
      { id: OTHER_OWNER, site: 'international', keys: [{ ...OTHER_KEY }] },
    ],
    accounts: [...RECIPIENTS.map((id) => ({ id, site: 'international' as const })), { id: OTHER_SITE, site: 'china' }],
    regions: [
      { id: REGION, community: true },
      { id: NO_COMMUNITY_REGION, community: false },
    ],
    sensitiveWords: ['gambling'],
    images: [
      { id: IMAGE, region: REGION, owner: OWNER, name: 'golden-ubuntu', description: 'base image', ...t.image },
      ...(t.images ?? []),
    ],
  };
}

export interface ClientOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  readTimeout?: number;
  connectTimeout?: number;
  signatureAlgorithm?: string;
}

/** The real SDK client pointed at the emulator. Defaults to the owner's AK. */
export function client(em: Emulator, o: ClientOptions = {}): InstanceType<typeof Ecs.default> {
  return new Ecs.default(
    new OpenApi.$OpenApiUtil.Config({
      endpoint: em.endpoint,
      protocol: 'http',
      accessKeyId: o.accessKeyId ?? KEY.accessKeyId,
      accessKeySecret: o.accessKeySecret ?? KEY.accessKeySecret,
      ...(o.securityToken === undefined ? {} : { securityToken: o.securityToken }),
      ...(o.signatureAlgorithm === undefined ? {} : { signatureAlgorithm: o.signatureAlgorithm }),
      readTimeout: o.readTimeout ?? 5000,
      connectTimeout: o.connectTimeout ?? 5000,
    }),
  );
}

/** The fields of a thrown SDK error the tests look at. */
export interface SdkError {
  name: string;
  code: string;
  statusCode?: number;
  message: string;
  retryAfter?: number;
  data?: Record<string, unknown>;
  accessDeniedDetail?: Record<string, unknown> | null;
}

/** Awaits a call that must fail and returns the SDK's error. Throws when the call succeeds. */
export async function sdkError(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err: unknown) {
    return err as SdkError;
  }
  throw new Error('expected the SDK call to fail, but it succeeded');
}

export function misp(
  c: InstanceType<typeof Ecs.default>,
  req: ConstructorParameters<typeof Ecs.ModifyImageSharePermissionRequest>[0],
) {
  return c.modifyImageSharePermission(
    new Ecs.ModifyImageSharePermissionRequest({ regionId: REGION, imageId: IMAGE, ...req }),
  );
}

export function disp(
  c: InstanceType<typeof Ecs.default>,
  req: ConstructorParameters<typeof Ecs.DescribeImageSharePermissionRequest>[0] = {},
) {
  return c.describeImageSharePermission(
    new Ecs.DescribeImageSharePermissionRequest({ regionId: REGION, imageId: IMAGE, ...req }),
  );
}

export function describeImages(
  c: InstanceType<typeof Ecs.default>,
  req: ConstructorParameters<typeof Ecs.DescribeImagesRequest>[0] = {},
) {
  return c.describeImages(new Ecs.DescribeImagesRequest({ regionId: REGION, ...req }));
}

/** Every page of the share list (PageSize 100), as the operator reads it. */
export async function allShares(c: InstanceType<typeof Ecs.default>, imageId = IMAGE): Promise<string[]> {
  const out: string[] = [];
  for (let page = 1; ; page++) {
    const r = await disp(c, { imageId, pageSize: 100, pageNumber: page });
    const accounts = r.body?.accounts?.account ?? [];
    out.push(...accounts.map((a) => a.aliyunId ?? ''));
    if (accounts.length === 0 || out.length >= (r.body?.totalCount ?? 0)) return out.sort();
  }
}
