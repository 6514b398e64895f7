// The three actions through the real SDK: happy paths, paging, the 10-per-list and 50-per-image rules, community
// exclusivity, DryRun, idempotency, atomicity, read-after-write lag and the call log.
import { describe, expect, it } from '@jest/globals';
import Ecs from '@alicloud/ecs20140526';
import { useEmulator } from './use-emulator.ts';
import {
  allShares,
  baseSeed,
  client,
  describeImages,
  disp,
  IMAGE,
  misp,
  NO_COMMUNITY_REGION,
  OTHER_KEY,
  OTHER_OWNER,
  OWNER,
  REGION,
  rcp,
  RECIPIENTS,
  sdkError,
  UNKNOWN,
} from './emulator-fixtures.ts';

const em = useEmulator(baseSeed);

describe('ModifyImageSharePermission + DescribeImageSharePermission', () => {
  it('grants, lists (sorted, SharedTime without millis) and revokes', async () => {
    const c = client(em());
    const r = await misp(c, { addAccount: [rcp(1), rcp(0)] });
    expect(r.statusCode).toBe(200);
    expect(r.body?.requestId).toMatch(/^[0-9A-F-]{36}$/);

    const d = await disp(c, { pageSize: 100 });
    expect(d.body?.totalCount).toBe(2);
    expect(d.body?.shareGroups?.shareGroup).toEqual([]);
    const accounts = d.body?.accounts?.account ?? [];
    expect(accounts.map((a) => a.aliyunId)).toEqual([rcp(0), rcp(1)]);
    for (const a of accounts) expect(a.sharedTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    await misp(c, { removeAccount: [rcp(0)] });
    expect(await allShares(c)).toEqual([rcp(1)]);
  });

  it('emits one-element lists as arrays (the SDK throws on an object)', async () => {
    const c = client(em());
    await misp(c, { addAccount: [rcp(0)] });
    const d = await disp(c);
    expect(d.body?.accounts?.account).toHaveLength(1);
    const raw = (await em().admin.state()).images[0]?.sharedWith;
    expect(raw).toHaveLength(1);
  });

  it('pages past 100 accounts: 130 shared out of band give pages of 100 and 30, TotalCount 130', async () => {
    const ids = Array.from({ length: 130 }, (_, i) => String(5000000000000001n + BigInt(i)));
    await em().admin.share(REGION, IMAGE, { add: ids });
    const c = client(em());
    const p1 = await disp(c, { pageSize: 100, pageNumber: 1 });
    const p2 = await disp(c, { pageSize: 100, pageNumber: 2 });
    const p3 = await disp(c, { pageSize: 100, pageNumber: 3 });
    expect(p1.body?.accounts?.account).toHaveLength(100);
    expect(p2.body?.accounts?.account).toHaveLength(30);
    expect(p3.body?.accounts?.account).toHaveLength(0);
    expect([p1, p2, p3].map((p) => p.body?.totalCount)).toEqual([130, 130, 130]);
    expect(await allShares(c)).toEqual([...ids].sort());
  });

  it('defaults to PageSize 10 and rejects PageSize over 100', async () => {
    await em().admin.share(REGION, IMAGE, { add: RECIPIENTS.slice(0, 15) as string[] });
    const c = client(em());
    const d = await disp(c);
    expect(d.body?.pageSize).toBe(10);
    expect(d.body?.accounts?.account).toHaveLength(10);
    const e = await sdkError(disp(c, { pageSize: 101 }));
    expect([e.code, e.statusCode]).toEqual(['InvalidParameter', 400]);
  });

  it('orders accounts by (SharedTime, AliyunId)', async () => {
    await em().admin.share(REGION, IMAGE, {
      add: [
        { id: rcp(5), sharedTime: '2025-01-01T00:00:00Z' },
        { id: rcp(1), sharedTime: '2025-02-01T00:00:00Z' },
        { id: rcp(3), sharedTime: '2025-01-01T00:00:00Z' },
      ],
    });
    const d = await disp(client(em()), { pageSize: 100 });
    expect(d.body?.accounts?.account?.map((a) => a.aliyunId)).toEqual([rcp(3), rcp(5), rcp(1)]);
  });

  it('applies only the first 10 of 12 accounts sent (listOverflow truncate, the default)', async () => {
    const twelve = RECIPIENTS.slice(0, 12) as string[];
    await misp(client(em()), { addAccount: twelve });
    expect(await allShares(client(em()))).toEqual(twelve.slice(0, 10).sort());
  });

  it('drops a list of 12 whole under listOverflow ignore-list (older docs)', async () => {
    await em().admin.setOptions({ listOverflow: 'ignore-list' });
    await misp(client(em()), { addAccount: RECIPIENTS.slice(0, 12) as string[] });
    expect(await allShares(client(em()))).toEqual([]);
  });

  it('enforces 50 accounts per image on the resulting set, removes applied before adds', async () => {
    const c = client(em());
    await em().admin.share(REGION, IMAGE, { add: RECIPIENTS.slice(0, 50) as string[] });
    const e = await sdkError(misp(c, { addAccount: [rcp(50)] }));
    expect([e.code, e.statusCode]).toEqual(['QuotaExceed.ShareImageUser', 403]);
    expect(await allShares(c)).toHaveLength(50);
    // One out, one in: the result stays at 50, so it is allowed.
    await misp(c, { removeAccount: [rcp(0)], addAccount: [rcp(50)] });
    const now = await allShares(c);
    expect(now).toHaveLength(50);
    expect(now).toContain(rcp(50));
    expect(now).not.toContain(rcp(0));
  });

  it('treats re-adding a shared account and removing an unshared one as successes without changes', async () => {
    const c = client(em());
    await misp(c, { addAccount: [rcp(0)] });
    const before = (await em().admin.image(REGION, IMAGE)).sharedWith;
    await misp(c, { addAccount: [rcp(0)] });
    await misp(c, { removeAccount: [rcp(9)] });
    expect((await em().admin.image(REGION, IMAGE)).sharedWith).toEqual(before);
  });

  it('is atomic: one unknown account fails the call and nothing in it is applied', async () => {
    const c = client(em());
    const e = await sdkError(misp(c, { addAccount: [rcp(0), UNKNOWN, rcp(1)] }));
    expect(e.code).toBe('InvalidAccount.NotFound');
    expect(e.message).toContain(`The specified account ${UNKNOWN} in parameter`);
    expect(await allShares(c)).toEqual([]);
  });

  it('DryRun runs every check, answers 400 DryRunOperation and changes nothing', async () => {
    const c = client(em());
    const ok = await sdkError(misp(c, { addAccount: [rcp(0)], dryRun: true }));
    expect([ok.name, ok.code, ok.statusCode]).toEqual(['ClientError', 'DryRunOperation', 400]);
    expect(ok.message).toContain('Request validation has been passed with DryRun flag set.');
    expect(await allShares(c)).toEqual([]);
    const bad = await sdkError(misp(c, { addAccount: [UNKNOWN], dryRun: true }));
    expect(bad.code).toBe('InvalidAccount.NotFound');
  });
});

describe('community images', () => {
  it('publishes and unpublishes; ShareGroup "all" while community; shares survive the round trip', async () => {
    const c = client(em());
    await misp(c, { addAccount: [rcp(0)] });
    await misp(c, { isPublic: true });
    const during = await disp(c);
    expect(during.body?.shareGroups?.shareGroup?.map((g) => g.group)).toEqual(['all']);
    const img = await describeImages(c, { imageId: IMAGE, imageOwnerAlias: 'self' });
    expect(img.body?.images?.image?.[0]?.isPublic).toBe(true);
    await misp(c, { isPublic: false });
    const after = await disp(c);
    expect(after.body?.shareGroups?.shareGroup).toEqual([]);
    expect(await allShares(c)).toEqual([rcp(0)]);
  });

  it('refuses to add accounts to a community image (Image.Public) and IsPublic mixed with lists', async () => {
    const c = client(em());
    await em().admin.patchImage(REGION, IMAGE, { community: true });
    const pub = await sdkError(misp(c, { addAccount: [rcp(0)] }));
    expect([pub.code, pub.statusCode]).toEqual(['Image.Public', 403]);
    const mixed = await sdkError(misp(c, { addAccount: [rcp(0)], isPublic: false }));
    expect([mixed.code, mixed.statusCode]).toEqual(['InvalidParameter.IsPublic', 403]);
    expect(await allShares(c)).toEqual([]);
  });

  it('unpublishing a regular image is Image.NotPublic by default and a no-op under unpublishNonCommunity noop', async () => {
    const c = client(em());
    const e = await sdkError(misp(c, { isPublic: false }));
    expect([e.code, e.statusCode]).toEqual(['Image.NotPublic', 403]);
    await em().admin.setOptions({ unpublishNonCommunity: 'noop' });
    await expect(misp(c, { isPublic: false })).resolves.toMatchObject({ statusCode: 200 });
  });
});

describe('DescribeImages', () => {
  it('returns the §2.3 fields for an own image, lists wrapped as arrays', async () => {
    const c = client(em());
    await misp(c, { addAccount: [rcp(0)] });
    const r = await describeImages(c, { imageId: IMAGE, imageOwnerAlias: 'self', status: 'ALL' });
    expect(r.body?.totalCount).toBe(1);
    const img = r.body?.images?.image?.[0];
    expect(img).toMatchObject({
      imageId: IMAGE,
      imageName: 'golden-ubuntu',
      description: 'base image',
      status: 'Available',
      imageOwnerAlias: 'self',
      isPublic: false,
      isSelfShared: 'True',
      progress: '100%',
      creationTime: '2025-01-01T00:00:00Z',
    });
    expect(img?.diskDeviceMappings?.diskDeviceMapping?.map((d) => d.encrypted)).toEqual([false]);
  });

  it('reports encryption per snapshot and filters by status (default Available only)', async () => {
    await em().admin.reset(
      baseSeed({
        images: [
          { id: 'm-cmk', region: REGION, owner: OWNER, encryption: 'cmk', snapshots: 2 },
          { id: 'm-creating', region: REGION, owner: OWNER, status: 'Creating' },
        ],
      }),
    );
    const c = client(em());
    const def = await describeImages(c, { imageOwnerAlias: 'self' });
    expect(def.body?.images?.image?.map((i) => i.imageId).sort()).toEqual(['m-cmk', IMAGE].sort());
    const cmk = def.body?.images?.image?.find((i) => i.imageId === 'm-cmk');
    expect(cmk?.diskDeviceMappings?.diskDeviceMapping?.map((d) => d.encrypted)).toEqual([true, true]);
    const creating = await describeImages(c, { imageId: 'm-creating', status: 'Creating,Waiting' });
    expect(creating.body?.images?.image?.map((i) => [i.imageId, i.status, i.progress])).toEqual([
      ['m-creating', 'Creating', '45%'],
    ]);
  });

  it("gives an empty list for a missing image or another owner's unshared image, and shows shared ones as others", async () => {
    await em().admin.reset(baseSeed({ images: [{ id: 'm-theirs', region: REGION, owner: OTHER_OWNER }] }));
    const c = client(em());
    expect((await describeImages(c, { imageId: 'm-nope' })).body?.images?.image).toEqual([]);
    expect((await describeImages(c, { imageId: 'm-theirs' })).body?.images?.image).toEqual([]);
    await em().admin.share(REGION, 'm-theirs', { add: [OWNER] });
    const shared = await describeImages(c, { imageId: 'm-theirs', imageOwnerAlias: 'others' });
    expect(shared.body?.images?.image?.[0]).toMatchObject({
      imageOwnerAlias: 'others',
      imageOwnerId: Number(OTHER_OWNER),
    });
    // The other owner's DISP works; ours on their image is NotFound.
    const theirs = await disp(client(em(), OTHER_KEY), { imageId: 'm-theirs' });
    expect(theirs.body?.totalCount).toBe(1);
    const e = await sdkError(disp(c, { imageId: 'm-theirs' }));
    expect([e.code, e.statusCode]).toEqual(['InvalidImageId.NotFound', 404]);
  });

  it("shows another owner's community image under others only when IsPublic=true is asked for", async () => {
    await em().admin.reset(
      baseSeed({ images: [{ id: 'm-community', region: REGION, owner: OTHER_OWNER, community: true }] }),
    );
    const c = client(em());
    expect((await describeImages(c, { imageOwnerAlias: 'others' })).body?.images?.image).toEqual([]);
    const pub = await describeImages(c, { imageOwnerAlias: 'others', isPublic: true });
    expect(pub.body?.images?.image?.map((i) => [i.imageId, i.isPublic, i.imageOwnerAlias])).toEqual([
      ['m-community', true, 'others'],
    ]);
    const e = await sdkError(describeImages(c, { imageOwnerAlias: 'self', isPublic: true }));
    expect([e.code, e.statusCode]).toEqual(['InvalidImageOwnerAlias.PublicImageUnsupported', 400]);
  });

  it('rejects an unknown region with InvalidRegionId.NotFound', async () => {
    const e = await sdkError(describeImages(client(em()), { regionId: 'xx-nowhere-1' }));
    expect([e.code, e.statusCode]).toEqual(['InvalidRegionId.NotFound', 404]);
  });

  it('answers in the second region too', async () => {
    await em().admin.reset(baseSeed({ images: [{ id: 'm-eu', region: NO_COMMUNITY_REGION, owner: OWNER }] }));
    const r = await describeImages(client(em()), { regionId: NO_COMMUNITY_REGION });
    expect(r.body?.images?.image?.map((i) => i.imageId)).toEqual(['m-eu']);
  });
});

describe('read-after-write lag', () => {
  it('with readLagMs, DISP shows the share list as it was before a write; with 0 it shows the write', async () => {
    const c = client(em());
    await em().admin.setOptions({ readLagMs: 3_600_000 });
    await misp(c, { addAccount: [rcp(0)] });
    expect(await allShares(c)).toEqual([]);
    expect((await em().admin.image(REGION, IMAGE)).sharedWith.map((s) => s.id)).toEqual([rcp(0)]);
    await em().admin.setOptions({ readLagMs: 0 });
    expect(await allShares(c)).toEqual([rcp(0)]);
  });
});

describe('call log', () => {
  it('logs successes and failures with counts by action, code and both', async () => {
    const c = client(em());
    await misp(c, { addAccount: [rcp(0)] });
    await sdkError(misp(c, { addAccount: [UNKNOWN] }));
    await disp(c);
    await sdkError(describeImages(client(em(), { accessKeySecret: 'wrong' })));
    const log = await em().admin.calls();
    expect(log.calls.map((x) => [x.seq, x.action, x.code, x.status])).toEqual([
      [1, 'ModifyImageSharePermission', 'OK', 200],
      [2, 'ModifyImageSharePermission', 'InvalidAccount.NotFound', 404],
      [3, 'DescribeImageSharePermission', 'OK', 200],
      [4, 'DescribeImages', 'SignatureDoesNotMatch', 400],
    ]);
    expect(log.calls[0]).toMatchObject({ regionId: REGION, imageId: IMAGE, params: { 'AddAccount.1': rcp(0) } });
    expect(log.counts.byAction).toEqual({
      ModifyImageSharePermission: 2,
      DescribeImageSharePermission: 1,
      DescribeImages: 1,
    });
    expect(log.counts.byCode).toEqual({ OK: 2, 'InvalidAccount.NotFound': 1, SignatureDoesNotMatch: 1 });
    expect(log.counts.byActionAndCode.ModifyImageSharePermission).toEqual({ OK: 1, 'InvalidAccount.NotFound': 1 });
    await em().admin.clearCalls();
    expect((await em().admin.calls()).calls).toEqual([]);
  });
});

describe('TagResources + UntagResources (the owner tag of ADR 0008)', () => {
  const tag = (
    c: ReturnType<typeof client>,
    tags: Array<{ key: string; value: string }>,
    o: { resourceType?: string; resourceId?: string[] } = {},
  ) =>
    c.tagResources(
      new Ecs.TagResourcesRequest({
        regionId: REGION,
        resourceType: o.resourceType ?? 'image',
        resourceId: o.resourceId ?? [IMAGE],
        tag: tags.map((t) => new Ecs.TagResourcesRequestTag(t)),
      }),
    );
  const tagsOf = async (c: ReturnType<typeof client>) =>
    (await describeImages(c)).body?.images?.image?.[0]?.tags?.tag ?? [];

  it('tags an image, overwrites an existing key, shows tags in DescribeImages (owner only) and untags', async () => {
    const c = client(em());
    await tag(c, [
      { key: 'imageshare.ecs.alicloud.dev/owner', value: 'c1/ns/a' },
      { key: 'team', value: '' },
    ]);
    await tag(c, [{ key: 'imageshare.ecs.alicloud.dev/owner', value: 'c1/ns/b' }]);
    expect(await tagsOf(c)).toEqual([
      { tagKey: 'imageshare.ecs.alicloud.dev/owner', tagValue: 'c1/ns/b' },
      { tagKey: 'team', tagValue: '' },
    ]);
    await c.untagResources(
      new Ecs.UntagResourcesRequest({
        regionId: REGION,
        resourceType: 'image',
        resourceId: [IMAGE],
        tagKey: ['team', 'absent'],
      }),
    );
    expect((await em().admin.image(REGION, IMAGE)).tags).toEqual({ 'imageshare.ecs.alicloud.dev/owner': 'c1/ns/b' });
  });

  it.each([
    ['a key starting with aliyun', [{ key: 'aliyun-x', value: 'v' }], 'InvalidTagKey.Malformed', 400],
    ['a key of 129 characters', [{ key: 'k'.repeat(129), value: 'v' }], 'InvalidTagKey.Malformed', 400],
    ['a value with https://', [{ key: 'k', value: 'see https://x' }], 'InvalidTagValue.Malformed', 400],
    [
      '21 tags in one call',
      Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: '' })),
      'InvalidParameter',
      400,
    ],
  ])('refuses %s and changes nothing', async (_why, tags, code, status) => {
    const c = client(em());
    const e = await sdkError(tag(c, tags));
    expect([e.code, e.statusCode]).toEqual([code, status]);
    expect((await em().admin.image(REGION, IMAGE)).tags).toEqual({});
  });

  it('allows 20 tags per image: the 21st is OperationDenied.QuotaExceed; an unknown or foreign image is InvalidResourceId.NotFound', async () => {
    const c = client(em());
    await tag(
      c,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: '' })),
    );
    const full = await sdkError(tag(c, [{ key: 'one-more', value: '' }]));
    expect([full.code, full.statusCode]).toEqual(['OperationDenied.QuotaExceed', 403]);
    const missing = await sdkError(tag(c, [{ key: 'k', value: '' }], { resourceId: ['m-doesnotexist00'] }));
    expect([missing.code, missing.statusCode]).toEqual(['InvalidResourceId.NotFound', 404]);
    const foreign = await sdkError(tag(client(em(), OTHER_KEY), [{ key: 'k', value: '' }]));
    expect(foreign.code).toBe('InvalidResourceId.NotFound');
    const type = await sdkError(tag(c, [{ key: 'k', value: '' }], { resourceType: 'instance' }));
    expect(type.code).toBe('InvalidResourceType.NotFound');
  });
});
