// The emulator's fleet surface through the unmodified SDK: image families, CreationTime ordering, the DescribeImages
// filters the ImageShareSet controller sends (ImageFamily, Tag.N, ImageName, ImageOwnerAlias=self, Status) with their
// paging, ModifyImageAttribute Status=Deprecated, DeleteImage, and the admin routes that add and delete images.
import { describe, expect, it } from '@jest/globals';
import { AdminApiError } from '../emulator/admin-client.ts';
import {
  baseSeed,
  client,
  Ecs,
  NO_COMMUNITY_REGION,
  OTHER_KEY,
  OTHER_OWNER,
  OWNER,
  REGION,
  sdkError,
} from './emulator-fixtures.ts';
import { useEmulator } from './use-emulator.ts';

const build = (i: number, over: Record<string, unknown> = {}) => ({
  id: `m-build${String(i).padStart(4, '0')}`,
  region: REGION,
  owner: OWNER,
  name: `golden-${i}`,
  family: 'golden',
  tags: { team: 'platform', build: String(i) },
  creationTime: `2026-01-${String(i).padStart(2, '0')}T00:00:00Z`,
  ...over,
});

const em = useEmulator(() =>
  baseSeed({
    images: [
      build(1),
      build(2),
      build(3, { status: 'Creating' }),
      build(4, { family: 'other', name: 'other-4' }),
      build(5, { tags: { team: 'security' } }),
      build(6, { owner: OTHER_OWNER }),
      build(7, { region: NO_COMMUNITY_REGION }),
    ],
  }),
);

async function list(req: Record<string, unknown>, key?: typeof OTHER_KEY) {
  const c = client(em(), key ?? {});
  const r = await c.describeImages(new Ecs.DescribeImagesRequest({ regionId: REGION, ...req }));
  return { ids: (r.body?.images?.image ?? []).map((i) => i.imageId), body: r.body };
}

describe('DescribeImages filters for image families', () => {
  it('ImageFamily + ImageOwnerAlias=self lists the Available builds of the family, newest CreationTime first', async () => {
    const { ids, body } = await list({ imageFamily: 'golden', imageOwnerAlias: 'self' });
    // build 3 is Creating (default Status=Available), 4 is in another family, 6 is someone else's, 7 another region.
    expect(ids).toEqual(['m-build0005', 'm-build0002', 'm-build0001']);
    expect(body?.totalCount).toBe(3);
    expect(body?.images?.image?.[0]?.imageFamily).toBe('golden');
  });

  it('Status=Creating,Available shows the build still being made, in its CreationTime place', async () => {
    const { ids } = await list({ imageFamily: 'golden', imageOwnerAlias: 'self', status: 'Creating,Available' });
    expect(ids).toEqual(['m-build0005', 'm-build0003', 'm-build0002', 'm-build0001']);
  });

  it('Tag.N pairs must all match; a pair without a value matches the key with any value', async () => {
    const team = await list({
      imageOwnerAlias: 'self',
      tag: [new Ecs.DescribeImagesRequestTag({ key: 'team', value: 'platform' })],
    });
    expect(team.ids).toEqual(['m-build0004', 'm-build0002', 'm-build0001']);
    const both = await list({
      imageOwnerAlias: 'self',
      tag: [
        new Ecs.DescribeImagesRequestTag({ key: 'team', value: 'platform' }),
        new Ecs.DescribeImagesRequestTag({ key: 'build', value: '2' }),
      ],
    });
    expect(both.ids).toEqual(['m-build0002']);
    const keyOnly = await list({ imageOwnerAlias: 'self', tag: [new Ecs.DescribeImagesRequestTag({ key: 'build' })] });
    expect(keyOnly.ids).toEqual(['m-build0004', 'm-build0002', 'm-build0001']);
  });

  it('more than 20 Tag.N pairs is InvalidTagCount (400)', async () => {
    const tag = Array.from({ length: 21 }, (_, i) => new Ecs.DescribeImagesRequestTag({ key: `k${i}`, value: 'v' }));
    const err = await sdkError(list({ imageOwnerAlias: 'self', tag }));
    expect(err).toMatchObject({ code: 'InvalidTagCount', statusCode: 400 });
  });

  it('ImageName matches a part of the name (the base image is golden-ubuntu, oldest)', async () => {
    expect((await list({ imageOwnerAlias: 'self', imageName: 'olden-' })).ids).toEqual([
      'm-build0005',
      'm-build0002',
      'm-build0001',
      'm-emutest0001',
    ]);
    expect((await list({ imageOwnerAlias: 'self', imageName: 'ubuntu' })).ids).toEqual(['m-emutest0001']);
  });

  it('the family of another owner is invisible under self', async () => {
    expect((await list({ imageFamily: 'golden', imageOwnerAlias: 'self' }, OTHER_KEY)).ids).toEqual(['m-build0006']);
  });

  it('pages: PageSize up to 100, PageNumber, TotalCount over 130 builds; PageSize 101 is refused', async () => {
    for (let i = 10; i < 140; i++)
      await em().admin.addImage({
        ...build(i, {
          creationTime: `2026-02-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`,
        }),
      });
    const p1 = await list({ imageFamily: 'golden', imageOwnerAlias: 'self', pageSize: 100, pageNumber: 1 });
    const p2 = await list({ imageFamily: 'golden', imageOwnerAlias: 'self', pageSize: 100, pageNumber: 2 });
    expect(p1.body?.totalCount).toBe(133);
    expect(p1.ids).toHaveLength(100);
    expect(p2.ids).toHaveLength(33);
    expect(p1.ids[0]).toBe('m-build0139');
    expect(p2.ids.slice(-3)).toEqual(['m-build0005', 'm-build0002', 'm-build0001']);
    expect(new Set([...p1.ids, ...p2.ids]).size).toBe(133);
    const err = await sdkError(list({ imageOwnerAlias: 'self', pageSize: 101 }));
    expect(err).toMatchObject({ code: 'InvalidParameter', statusCode: 400 });
  });
});

describe('ModifyImageAttribute and DeleteImage', () => {
  it('Status=Deprecated takes a build out of the Available listing and blocks sharing; Available restores it', async () => {
    const c = client(em());
    await c.modifyImageAttribute(
      new Ecs.ModifyImageAttributeRequest({ regionId: REGION, imageId: 'm-build0005', status: 'Deprecated' }),
    );
    expect((await list({ imageFamily: 'golden', imageOwnerAlias: 'self' })).ids).toEqual([
      'm-build0002',
      'm-build0001',
    ]);
    const shareErr = await sdkError(
      c.modifyImageSharePermission(
        new Ecs.ModifyImageSharePermissionRequest({
          regionId: REGION,
          imageId: 'm-build0005',
          addAccount: ['2000000000000001'],
        }),
      ),
    );
    expect(shareErr).toMatchObject({ code: 'OperationDenied.InvalidImageStatus' });
    await c.modifyImageAttribute(
      new Ecs.ModifyImageAttributeRequest({ regionId: REGION, imageId: 'm-build0005', status: 'Available' }),
    );
    expect((await list({ imageFamily: 'golden', imageOwnerAlias: 'self' })).ids[0]).toBe('m-build0005');
  });

  it('ImageFamily moves a build into a family', async () => {
    const c = client(em());
    await c.modifyImageAttribute(
      new Ecs.ModifyImageAttributeRequest({ regionId: REGION, imageId: 'm-build0004', imageFamily: 'golden' }),
    );
    expect((await list({ imageFamily: 'golden', imageOwnerAlias: 'self' })).ids).toEqual([
      'm-build0005',
      'm-build0004',
      'm-build0002',
      'm-build0001',
    ]);
  });

  it('an unknown Status value is InvalidParameter, and a Creating build cannot be deprecated', async () => {
    const c = client(em());
    const bad = await sdkError(
      c.modifyImageAttribute(
        new Ecs.ModifyImageAttributeRequest({ regionId: REGION, imageId: 'm-build0001', status: 'Gone' }),
      ),
    );
    expect(bad).toMatchObject({ code: 'InvalidParameter', statusCode: 400 });
    const creating = await sdkError(
      c.modifyImageAttribute(
        new Ecs.ModifyImageAttributeRequest({ regionId: REGION, imageId: 'm-build0003', status: 'Deprecated' }),
      ),
    );
    expect(creating).toMatchObject({ code: 'IncorrectImageStatus' });
  });

  it('DeleteImage removes the build; deleting it again is ignored; another owner cannot delete it', async () => {
    const c = client(em());
    await c.deleteImage(new Ecs.DeleteImageRequest({ regionId: REGION, imageId: 'm-build0002' }));
    expect((await list({ imageFamily: 'golden', imageOwnerAlias: 'self' })).ids).toEqual([
      'm-build0005',
      'm-build0001',
    ]);
    const again = await c.deleteImage(new Ecs.DeleteImageRequest({ regionId: REGION, imageId: 'm-build0002' }));
    expect(again.statusCode).toBe(200);
    const other = await sdkError(
      client(em(), OTHER_KEY).deleteImage(new Ecs.DeleteImageRequest({ regionId: REGION, imageId: 'm-build0001' })),
    );
    expect(other).toMatchObject({ code: 'InvalidImageId.NotFound' });
  });
});

describe('admin: builds appear and disappear', () => {
  it('POST /_admin/images adds a build that DescribeImages lists at once as the newest of its family', async () => {
    const added = await em().admin.addImage(build(20, { creationTime: '2026-03-01T00:00:00Z' }));
    expect(added).toMatchObject({ id: 'm-build0020', family: 'golden', status: 'Available', sharedWith: [] });
    expect((await list({ imageFamily: 'golden', imageOwnerAlias: 'self' })).ids[0]).toBe('m-build0020');
  });

  it('refuses a duplicate image or an unknown region with 400 and every problem', async () => {
    const err = await em()
      .admin.addImage(build(1, { region: 'xx-nowhere-1' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminApiError);
    expect((err as AdminApiError).status).toBe(400);
    const dup = await em()
      .admin.addImage(build(1))
      .catch((e: unknown) => e);
    expect((dup as AdminApiError).problems).toEqual([`image ${REGION}/m-build0001 exists already`]);
  });

  it('DELETE /_admin/images/:region/:id removes a build; a second delete is 404', async () => {
    await em().admin.deleteImage(REGION, 'm-build0001');
    expect((await list({ imageFamily: 'golden', imageOwnerAlias: 'self' })).ids).toEqual([
      'm-build0005',
      'm-build0002',
    ]);
    const err = await em()
      .admin.deleteImage(REGION, 'm-build0001')
      .catch((e: unknown) => e);
    expect((err as AdminApiError).status).toBe(404);
  });
});
