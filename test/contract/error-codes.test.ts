// Every code of the seed's error table, produced by the emulator's world rules from a seeded state, reaching us
// through the real @alicloud/ecs20140526 client, and classified by src/cloud/ecs-errors.ts. Rows go through the
// adapter whenever the adapter can send the request at all; codes only a request the adapter never sends can
// produce (LaunchPermission, legacy groups, IsPublic mixed with accounts, unpublishing through the raw client) go
// through the raw SDK client, and the thrown SDK error is classified by classify. No row uses a fault.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Ecs from '@alicloud/ecs20140526';
import OpenApi from '@alicloud/openapi-core';
import { Reason } from '../../src/api/reasons.ts';
import { classify, ECS_ERROR_CODES } from '../../src/cloud/ecs-errors.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { CloudError, type ErrorKind, type ImageRef, type ImageSharing } from '../../src/cloud/port.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import {
  CREDS,
  KEY_ID,
  KEY_SECRET,
  NO_COMMUNITY_REGION,
  OTHER_SITE,
  OWNER,
  REGION,
  recipient,
  RECIPIENTS,
  UNKNOWN,
  world,
} from './adapter-fixtures.ts';

let emu: Emulator;
let sharing: ImageSharing;

beforeAll(async () => {
  emu = await startEmulator({ seed: world() });
  const factory = createEcsImageSharingFactory({
    endpoint: emu.endpoint,
    protocol: 'http',
    timeoutMs: 5000,
    qps: 1000,
    burst: 1000,
    maxAttempts: 3,
    sleep: async () => undefined,
  });
  sharing = factory.forCredentials(CREDS);
});
afterAll(async () => {
  await emu.close();
});

const ref: ImageRef = { regionId: REGION, imageId: 'm-test' };

function rawClient(globalQueries?: Record<string, string>) {
  return new Ecs.default(
    new OpenApi.$OpenApiUtil.Config({
      endpoint: emu.endpoint,
      protocol: 'http',
      accessKeyId: KEY_ID,
      accessKeySecret: KEY_SECRET,
      readTimeout: 5000,
      connectTimeout: 5000,
      ...(globalQueries
        ? { globalParameters: new OpenApi.$OpenApiUtil.GlobalParameters({ queries: globalQueries }) }
        : {}),
    }),
  );
}

/** The classified error of a call that must fail: thrown, or (grant/revoke) returned beside the results. */
async function failure(p: Promise<unknown>): Promise<CloudError> {
  let value: unknown;
  try {
    value = await p;
  } catch (err: unknown) {
    return classify(err);
  }
  const returned = (value as { error?: unknown } | undefined)?.error;
  if (returned !== undefined) return classify(returned);
  throw new Error('expected the call to fail');
}

/** The per-account error of a single-account grant that ECS refuses for that account. */
async function accountFailure(accounts: string[], r: ImageRef = ref): Promise<CloudError> {
  const [result] = (await sharing.grant(r, accounts)).results;
  if (!result || result.ok === true) throw new Error('expected the account to fail');
  return result.error;
}

const misp = (req: Record<string, unknown>, globalQueries?: Record<string, string>) =>
  rawClient(globalQueries).modifyImageSharePermission(
    new Ecs.ModifyImageSharePermissionRequest({ regionId: REGION, imageId: 'm-test', ...req }),
  );

interface Row {
  code: string;
  kind: ErrorKind;
  reason: Reason;
  why: string;
  seed?: Parameters<typeof world>[0];
  run: () => Promise<CloudError>;
}

const rows: Row[] = [
  {
    code: 'MissingParameter',
    kind: 'terminal',
    reason: Reason.InvalidRequest,
    why: 'an empty ImageId reaches ECS as missing; that would be a bug upstream of the adapter',
    run: () => failure(sharing.grant({ regionId: REGION, imageId: '' }, [recipient(0)])),
  },
  {
    code: 'InvalidGroup.Malformed',
    kind: 'terminal',
    reason: Reason.InvalidRequest,
    why: 'only the deprecated group parameters can produce it (raw client with a global AddGroup.1)',
    run: () => failure(misp({ addAccount: [recipient(0)] }, { 'AddGroup.1': 'everyone' })),
  },
  {
    code: 'UnnecessaryParameter.LaunchPermission',
    kind: 'terminal',
    reason: Reason.InvalidRequest,
    why: 'LaunchPermission with account lists; the adapter never sends LaunchPermission',
    run: () => failure(misp({ launchPermission: 'hide', addAccount: [recipient(0)] })),
  },
  {
    code: 'InvalidParameter.LaunchPermission',
    kind: 'terminal',
    reason: Reason.InvalidRequest,
    why: 'a LaunchPermission value other than hide',
    run: () => failure(misp({ launchPermission: 'show' })),
  },
  {
    code: 'ForbiddenParameter.LaunchPermission',
    kind: 'terminal',
    reason: Reason.InvalidRequest,
    why: 'the owner is not in the LaunchPermission preview',
    run: () => failure(misp({ launchPermission: 'hide' })),
  },
  {
    code: 'AssumeRoleError',
    kind: 'terminal',
    reason: Reason.EncryptedShareRoleMissing,
    why: 'a CMK image and an owner without AliyunECSShareEncryptImageDefaultRole',
    seed: { image: { encryption: 'cmk' }, owner: { shareEncryptedRole: false } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'ImageDescription.ContainsSensitiveWords',
    kind: 'terminal',
    reason: Reason.ContainsSensitiveWords,
    why: 'publishing an image whose description has a sensitive word',
    seed: { image: { description: 'no gambling here' } },
    run: () => failure(sharing.setCommunity(ref, true)),
  },
  {
    code: 'ImageName.ContainsSensitiveWords',
    kind: 'terminal',
    reason: Reason.ContainsSensitiveWords,
    why: 'publishing an image whose name has a sensitive word',
    seed: { image: { name: 'gambling-box' } },
    run: () => failure(sharing.setCommunity(ref, true)),
  },
  {
    code: 'Image.Public',
    kind: 'terminal',
    reason: Reason.ImageIsCommunity,
    why: 'adding accounts to a community image',
    seed: { image: { community: true } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'CurrentRegion.NotSupportPublicImage',
    kind: 'terminal',
    reason: Reason.CommunityNotSupportedInRegion,
    why: 'publishing in a region without community images',
    seed: { image: { region: NO_COMMUNITY_REGION } },
    run: () => failure(sharing.setCommunity({ regionId: NO_COMMUNITY_REGION, imageId: 'm-test' }, true)),
  },
  {
    code: 'Image.NotPublic',
    kind: 'terminal',
    reason: Reason.ImageNotCommunity,
    why: 'unpublishing a plain image through the raw client (the adapter itself treats this code as done)',
    run: () => failure(misp({ isPublic: false })),
  },
  {
    code: 'OperationDeined.FullImage',
    kind: 'terminal',
    reason: Reason.EncryptedImageMultipleSnapshots,
    why: 'a CMK image with two snapshots',
    seed: { image: { encryption: 'cmk', snapshots: 2 } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'QuotaExceed.ShareImage',
    kind: 'terminal',
    reason: Reason.ShareImageQuotaExceeded,
    why: 'the owner may have one shared image and another one already is',
    seed: {
      owner: { shareImageQuota: 1 },
      extraImages: [{ id: 'm-other', region: REGION, owner: OWNER, name: 'other', sharedWith: [recipient(1)] }],
    },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'QuotaExceed.ShareImageUser',
    kind: 'terminal',
    reason: Reason.AccountQuotaExceeded,
    why: 'the image already has 50 accounts',
    seed: { image: { sharedWith: RECIPIENTS.slice(0, 50) } },
    run: () => failure(sharing.grant(ref, [recipient(50)])),
  },
  {
    code: 'InvalidImageId.BidMismatch',
    kind: 'terminal',
    reason: Reason.AccountOtherSite,
    why: 'a recipient on the China site for an International owner; isolated as a per-account failure',
    run: () => accountFailure([OTHER_SITE]),
  },
  {
    code: 'OperationDeined.EncryptedSnapshot',
    kind: 'terminal',
    reason: Reason.EncryptedSnapshotUnsupported,
    why: 'an image with legacy encrypted snapshots',
    seed: { image: { encryption: 'legacy' } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'OperationDenied.InvalidImageStatus',
    kind: 'terminal',
    reason: Reason.ImageDeprecated,
    why: 'a deprecated image',
    seed: { image: { status: 'Deprecated' } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'PublicImageAgreement.NotSigned',
    kind: 'terminal',
    reason: Reason.CommunityAgreementNotSigned,
    why: 'publishing without the signed agreement',
    seed: { owner: { agreementSigned: false } },
    run: () => failure(sharing.setCommunity(ref, true)),
  },
  {
    code: 'InvalidParameter.IsPublic',
    kind: 'terminal',
    reason: Reason.InvalidRequest,
    why: 'IsPublic mixed with AddAccount, which only the raw client can send',
    run: () => failure(misp({ isPublic: true, addAccount: [recipient(0)] })),
  },
  {
    code: 'InvalidParameter.KMSKeyId.CMKUnauthorized',
    kind: 'terminal',
    reason: Reason.KMSKeyUnauthorized,
    why: 'a CMK image whose key does not authorise ECS',
    seed: { image: { encryption: 'cmk', kms: 'unauthorized' } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'InvalidParameter.KMSKeyId.CMKNotEnabled',
    kind: 'terminal',
    reason: Reason.KMSKeyNotEnabled,
    why: 'a CMK image whose key is disabled',
    seed: { image: { encryption: 'cmk', kms: 'disabled' } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'InvalidOperation.ServiceKeyEncryptedImageUnsupported',
    kind: 'terminal',
    reason: Reason.ServiceKeyEncryptedImage,
    why: 'a service-key encrypted image',
    seed: { image: { encryption: 'service-key' } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
  {
    code: 'InvalidImageId.NotFound',
    kind: 'terminal',
    reason: Reason.ImageNotFound,
    why: 'granting on an image that does not exist',
    run: () => failure(sharing.grant({ regionId: REGION, imageId: 'm-missing' }, [recipient(0)])),
  },
  {
    code: 'InvalidAccount.NotFound',
    kind: 'terminal',
    reason: Reason.AccountNotFound,
    why: 'a recipient unknown to Alibaba Cloud; isolated as a per-account failure',
    run: () => accountFailure([UNKNOWN]),
  },
  {
    code: 'InvalidAccount.Forbbiden',
    kind: 'terminal',
    reason: Reason.AccountIsOwner,
    why: 'the owner listed as its own recipient; isolated as a per-account failure',
    run: () => accountFailure([OWNER]),
  },
  {
    code: 'InvalidKMSKeyId.NotFound',
    kind: 'terminal',
    reason: Reason.KMSKeyNotFound,
    why: 'a CMK image whose key was deleted',
    seed: { image: { encryption: 'cmk', kms: 'missing' } },
    run: () => failure(sharing.grant(ref, [recipient(0)])),
  },
];

describe('every seed error code, from a seeded state, through the real client', () => {
  it('covers 26 distinct codes, all in the classification table', () => {
    expect(new Set(rows.map((r) => r.code)).size).toBe(26);
    for (const r of rows) expect(ECS_ERROR_CODES).toContain(r.code);
  });

  it.each(rows.map((r) => [r.code, r.why, r] as const))('%s: %s', async (code, _why, row) => {
    await emu.admin.reset(world(row.seed));
    const err = await row.run();
    expect(err).toBeInstanceOf(CloudError);
    expect({ code: err.code, kind: err.kind, reason: err.reason }).toEqual({
      code,
      kind: row.kind,
      reason: row.reason,
    });
    const log = await emu.admin.calls();
    // Terminal codes are never retried: ECS answered this code exactly once, and it was the last call.
    expect(log.counts.byCode[code]).toBe(1);
    expect(log.calls.at(-1)?.code).toBe(code);
    expect(err.message).not.toContain(KEY_ID);
    expect(err.message).not.toContain(KEY_SECRET);
  });
});
