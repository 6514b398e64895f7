// Every code of the ModifyImageSharePermission error table (seed/ModifyImageSharePermission.txt), plus the two
// older-doc codes of reference §1.6, reached from a seeded state through the real SDK, with the documented HTTP
// status asserted on the SDK's own error. Each failing call must leave the image exactly as it was.
import * as $dara from '@darabonba/typescript';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MISP_ERRORS } from '../emulator/errors.ts';
import type { SeedInput } from '../emulator/seed.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import {
  baseSeed,
  client,
  Ecs,
  IMAGE,
  misp,
  NO_COMMUNITY_REGION,
  OTHER_SITE,
  OWNER,
  REGION,
  rcp,
  sdkError,
  UNKNOWN,
} from './emulator-fixtures.ts';

type Client = ReturnType<typeof client>;

interface Row {
  code: string;
  /** The status the documentation gives (transcribed from the seed page, not read from the emulator). */
  status: number;
  why: string;
  seed?: SeedInput;
  call: (c: Client) => Promise<unknown>;
}

const add = (c: Client) => misp(c, { addAccount: [rcp(0)] });
const publish = (c: Client) => misp(c, { isPublic: true });

const ROWS: Row[] = [
  {
    code: 'MissingParameter',
    status: 400,
    why: 'ImageId is required',
    call: (c) => misp(c, { imageId: undefined, addAccount: [rcp(0)] }),
  },
  {
    code: 'InvalidGroup.Malformed',
    status: 400,
    why: 'the legacy AddGroup.N only ever took "all"; the SDK can still send it through extendsParameters',
    call: (c) =>
      c.modifyImageSharePermissionWithOptions(
        new Ecs.ModifyImageSharePermissionRequest({ regionId: REGION, imageId: IMAGE }),
        new $dara.RuntimeOptions({
          extendsParameters: new $dara.ExtendsParameters({ queries: { 'AddGroup.1': 'everyone' } }),
        }),
      ),
  },
  {
    code: 'UnnecessaryParameter.LaunchPermission',
    status: 400,
    why: 'LaunchPermission cannot come with account lists',
    seed: baseSeed({ owner: { launchPermissionPreview: true } }),
    call: (c) => misp(c, { addAccount: [rcp(0)], launchPermission: 'hide' }),
  },
  {
    code: 'InvalidParameter.LaunchPermission',
    status: 400,
    why: 'hide is the only documented value',
    seed: baseSeed({ owner: { launchPermissionPreview: true } }),
    call: (c) => misp(c, { launchPermission: 'show' }),
  },
  {
    code: 'ForbiddenParameter.LaunchPermission',
    status: 400,
    why: 'the owner is not in the invitational preview',
    call: (c) => misp(c, { launchPermission: 'hide' }),
  },
  {
    code: 'AssumeRoleError',
    status: 403,
    why: 'sharing a CMK image needs AliyunECSShareEncryptImageDefaultRole',
    seed: baseSeed({ owner: { shareEncryptedRole: false }, image: { encryption: 'cmk' } }),
    call: add,
  },
  {
    code: 'ImageDescription.ContainsSensitiveWords',
    status: 403,
    why: 'a sensitive word in the description blocks publishing',
    seed: baseSeed({ image: { description: 'best GAMBLING tools' } }),
    call: publish,
  },
  {
    code: 'ImageName.ContainsSensitiveWords',
    status: 403,
    why: 'a sensitive word in the name blocks publishing',
    seed: baseSeed({ image: { name: 'gambling-box' } }),
    call: publish,
  },
  {
    code: 'Image.Public',
    status: 403,
    why: 'a community image cannot be shared with accounts',
    seed: baseSeed({ image: { community: true } }),
    call: add,
  },
  {
    code: 'CurrentRegion.NotSupportPublicImage',
    status: 403,
    why: 'the image lives in a region without community images',
    seed: baseSeed({ image: { region: NO_COMMUNITY_REGION } }),
    call: (c) => misp(c, { regionId: NO_COMMUNITY_REGION, isPublic: true }),
  },
  {
    code: 'Image.NotPublic',
    status: 403,
    why: 'unpublishing a regular image (default unpublishNonCommunity: error)',
    call: (c) => misp(c, { isPublic: false }),
  },
  {
    code: 'OperationDeined.FullImage',
    status: 403,
    why: 'a CMK image with more than one snapshot cannot be shared',
    seed: baseSeed({ image: { encryption: 'cmk', snapshots: 2 } }),
    call: add,
  },
  {
    code: 'QuotaExceed.ShareImage',
    status: 403,
    why: 'the owner may have one shared image and another one already is',
    seed: baseSeed({
      owner: { shareImageQuota: 1 },
      images: [{ id: 'm-already-shared', region: REGION, owner: OWNER, sharedWith: ['2000000000000002'] }],
    }),
    call: add,
  },
  {
    code: 'QuotaExceed.ShareImageUser',
    status: 403,
    why: 'the resulting set would pass the per-image account limit',
    seed: baseSeed({ options: { maxAccountsPerImage: 2 } }),
    call: (c) => misp(c, { addAccount: [rcp(0), rcp(1), rcp(2)] }),
  },
  {
    code: 'InvalidImageId.BidMismatch',
    status: 403,
    why: 'the account is on the China site, the owner on International',
    call: (c) => misp(c, { addAccount: [rcp(0), OTHER_SITE] }),
  },
  {
    code: 'OperationDeined.EncryptedSnapshot',
    status: 403,
    why: 'a legacy encrypted-snapshot image cannot be shared',
    seed: baseSeed({ image: { encryption: 'legacy' } }),
    call: add,
  },
  {
    code: 'OperationDeined.EncryptedSnapshot',
    status: 403,
    why: 'encrypted images cannot be published (no dedicated code is documented; the closest one is used)',
    seed: baseSeed({ image: { encryption: 'cmk' } }),
    call: publish,
  },
  {
    code: 'OperationDenied.InvalidImageStatus',
    status: 403,
    why: 'a deprecated image cannot be shared',
    seed: baseSeed({ image: { status: 'Deprecated' } }),
    call: add,
  },
  {
    code: 'PublicImageAgreement.NotSigned',
    status: 403,
    why: 'publishing needs the signed community agreement',
    seed: baseSeed({ owner: { agreementSigned: false } }),
    call: publish,
  },
  {
    code: 'InvalidParameter.IsPublic',
    status: 403,
    why: 'IsPublic cannot be combined with account lists',
    call: (c) => misp(c, { addAccount: [rcp(0)], isPublic: true }),
  },
  {
    code: 'InvalidParameter.KMSKeyId.CMKUnauthorized',
    status: 403,
    why: 'the CMK has not authorised ECS',
    seed: baseSeed({ image: { encryption: 'cmk', kms: 'unauthorized' } }),
    call: add,
  },
  {
    code: 'InvalidParameter.KMSKeyId.CMKNotEnabled',
    status: 403,
    why: 'the CMK is disabled',
    seed: baseSeed({ image: { encryption: 'cmk', kms: 'disabled' } }),
    call: add,
  },
  {
    code: 'InvalidOperation.ServiceKeyEncryptedImageUnsupported',
    status: 403,
    why: 'service-key encrypted images can no longer be shared',
    seed: baseSeed({ image: { encryption: 'service-key' } }),
    call: add,
  },
  {
    code: 'InvalidImageId.NotFound',
    status: 404,
    why: 'no such image in this account',
    call: (c) => misp(c, { imageId: 'm-doesnotexist', addAccount: [rcp(0)] }),
  },
  {
    code: 'InvalidAccount.NotFound',
    status: 404,
    why: 'the recipient account does not exist',
    call: (c) => misp(c, { addAccount: [UNKNOWN] }),
  },
  {
    code: 'InvalidAccount.Forbbiden',
    status: 404,
    why: 'sharing with yourself (the typo is the real code)',
    call: (c) => misp(c, { addAccount: [OWNER] }),
  },
  {
    code: 'InvalidKMSKeyId.NotFound',
    status: 404,
    why: 'the CMK no longer exists',
    seed: baseSeed({ image: { encryption: 'cmk', kms: 'missing' } }),
    call: add,
  },
  {
    code: 'IncorrectImageStatus',
    status: 400,
    why: 'older docs: the image is still being created (transient)',
    seed: baseSeed({ image: { status: 'Creating' } }),
    call: add,
  },
  {
    code: 'InvalidRegionId.NotFound',
    status: 404,
    why: 'older docs: the region does not exist',
    call: (c) => misp(c, { regionId: 'xx-nowhere-1', addAccount: [rcp(0)] }),
  },
];

const OLDER_DOC_CODES = ['IncorrectImageStatus', 'InvalidRegionId.NotFound'];

let em: Emulator;
beforeAll(async () => {
  em = await startEmulator();
});
afterAll(async () => {
  await em.close();
});

describe('the MISP error table', () => {
  it('covers every code of the seed page and nothing unknown', () => {
    const covered = new Set(ROWS.map((r) => r.code));
    expect([...covered].sort()).toEqual([...Object.keys(MISP_ERRORS), ...OLDER_DOC_CODES].sort());
  });

  it('uses the documented status for each code in the emulator catalogue', () => {
    for (const r of ROWS) {
      const spec = (MISP_ERRORS as Record<string, { status: number }>)[r.code];
      if (spec) expect([r.code, spec.status]).toEqual([r.code, r.status]);
    }
  });

  it.each(ROWS.map((r) => [r.code, r.why, r] as const))('%s: %s', async (_code, _why, row) => {
    await em.admin.reset(row.seed ?? baseSeed());
    const before = await em.admin.state();
    const e = await sdkError(row.call(client(em)));
    expect([e.name, e.code, e.statusCode]).toEqual(['ClientError', row.code, row.status]);
    expect(await em.admin.state()).toEqual(before);
  });

  it('names the account in BidMismatch and NotFound messages', async () => {
    await em.admin.reset(baseSeed());
    const bid = await sdkError(misp(client(em), { addAccount: [rcp(0), OTHER_SITE] }));
    expect(bid.message).toContain(`Cannot share the image with users ${OTHER_SITE} of other sites.`);
    const nf = await sdkError(misp(client(em), { addAccount: [rcp(0), UNKNOWN, '2999999999999998'] }));
    expect(nf.message).toContain(`The specified account ${UNKNOWN} in parameter`);
  });

  it('answers InvalidImageId.NotFound with 403 under imageNotFoundStatus: 403 (the conflicting mirrors)', async () => {
    await em.admin.reset(baseSeed({ options: { imageNotFoundStatus: 403 } }));
    const e = await sdkError(misp(client(em), { imageId: 'm-doesnotexist', addAccount: [rcp(0)] }));
    expect([e.code, e.statusCode]).toEqual(['InvalidImageId.NotFound', 403]);
  });

  it('allows the same cross-site share under crossSiteSharing: true', async () => {
    await em.admin.reset(baseSeed({ options: { crossSiteSharing: true } }));
    await misp(client(em), { addAccount: [OTHER_SITE] });
    expect((await em.admin.image(REGION, IMAGE)).sharedWith.map((s) => s.id)).toEqual([OTHER_SITE]);
  });

  it('accepts LaunchPermission=hide alone for an owner in the preview', async () => {
    await em.admin.reset(baseSeed({ owner: { launchPermissionPreview: true } }));
    await expect(misp(client(em), { launchPermission: 'hide' })).resolves.toMatchObject({ statusCode: 200 });
  });
});
