// Discovery through the real ECS adapter and the unmodified SDK against the emulator (docs/adr/0027): the request's
// filters, every page of 100, and pages that cannot be believed (TotalCount moving, a short page) refused rather than
// taken as "the other builds are gone".
import { describe, expect, it } from '@jest/globals';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { CloudError, type ImageSharing } from '../../src/cloud/port.ts';
import { CREDS, OWNER, REGION, world } from './adapter-fixtures.ts';
import { useEmulator } from './use-emulator.ts';

const emu = useEmulator(world);

function sharing(): Required<Pick<ImageSharing, 'listOwnImages'>> {
  const port = createEcsImageSharingFactory({
    endpoint: emu().endpoint,
    protocol: 'http',
    timeoutMs: 5000,
    qps: 1000,
    burst: 1000,
    maxAttempts: 2,
    sleep: async () => undefined,
  }).forCredentials(CREDS);
  const list = port.listOwnImages?.bind(port);
  if (list === undefined) throw new Error('the ECS adapter must implement listOwnImages');
  return { listOwnImages: list };
}

async function addBuilds(n: number, over: Record<string, unknown> = {}) {
  for (let i = 0; i < n; i++)
    await emu().admin.addImage({
      id: `m-fleet${String(i).padStart(5, '0')}`,
      region: REGION,
      owner: OWNER,
      name: `golden-${i}`,
      family: 'golden',
      tags: { team: 'platform' },
      creationTime: `2026-01-01T${String(Math.floor(i / 60) % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00Z`,
      ...over,
    });
}

describe('listOwnImages', () => {
  it('reads every page of 100 (250 builds: 3 calls) and sends the family, tag and name filters', async () => {
    await addBuilds(250);
    await emu().admin.clearCalls();
    const images = await sharing().listOwnImages(REGION, {
      imageFamily: 'golden',
      tags: { team: 'platform', any: '' },
      namePrefix: 'golden-',
    });
    // The `any` tag has no value on any build, and an empty value asks for the key: nothing carries it.
    expect(images).toEqual([]);
    const onlyTeam = await sharing().listOwnImages(REGION, { imageFamily: 'golden', tags: { team: 'platform' } });
    expect(onlyTeam).toHaveLength(250);
    expect(onlyTeam[0]).toMatchObject({
      family: 'golden',
      status: 'Available',
      ownerAlias: 'self',
      tags: { team: 'platform' },
    });
    const calls = (await emu().admin.calls()).calls.filter((c) => c.action === 'DescribeImages');
    expect(calls[0]?.params).toMatchObject({
      RegionId: REGION,
      ImageOwnerAlias: 'self',
      Status: 'Available',
      ImageFamily: 'golden',
      ImageName: 'golden-',
      'Tag.1.Key': 'team',
      'Tag.1.Value': 'platform',
      'Tag.2.Key': 'any',
      PageSize: '100',
      PageNumber: '1',
    });
    expect(calls[0]?.params).not.toHaveProperty('Tag.2.Value');
    expect(calls.slice(1).map((c) => c.params.PageNumber)).toEqual(['1', '2', '3']);
  });

  it('a build that appears between two pages moves TotalCount: the listing is refused, not cut short', async () => {
    await addBuilds(150);
    await emu().admin.addFault({ type: 'slowReply', ms: 400, action: 'DescribeImages', times: 1 });
    const listing = sharing().listOwnImages(REGION, { imageFamily: 'golden' });
    await new Promise((r) => setTimeout(r, 100));
    await emu().admin.addImage({ id: 'm-latebuild1', region: REGION, owner: OWNER, family: 'golden' });
    const err = await listing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect((err as CloudError).code).toBe('MalformedResponse');
  });
});
