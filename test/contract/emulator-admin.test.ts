// The admin API: out-of-band changes take effect for SDK callers, state never echoes secrets, bad input gets a
// clear 4xx, and the CLI's seed loading path works end to end.
import { describe, expect, it } from '@jest/globals';
import { AdminApiError } from '../emulator/admin-client.ts';
import { useEmulator } from './use-emulator.ts';
import {
  allShares,
  baseSeed,
  client,
  describeImages,
  IMAGE,
  KEY,
  misp,
  OWNER,
  REGION,
  rcp,
  sdkError,
  STS_KEY,
} from './emulator-fixtures.ts';

const em = useEmulator(baseSeed);

describe('admin API', () => {
  it('reports the endpoint without a scheme and the URL with one', () => {
    expect(em().endpoint).toBe(`127.0.0.1:${em().port}`);
    expect(em().url).toBe(`http://127.0.0.1:${em().port}`);
  });

  it('returns the whole world with secrets and tokens redacted', async () => {
    const s = await em().admin.state();
    const keys = s.owners.find((o) => o.id === OWNER)?.keys ?? [];
    expect(keys.map((k) => k.accessKeyId)).toEqual([KEY.accessKeyId, STS_KEY.accessKeyId]);
    const text = JSON.stringify(s);
    expect(text).not.toContain(KEY.accessKeySecret);
    expect(text).not.toContain(STS_KEY.securityToken);
  });

  it('applies image patches to what the SDK sees (status → hidden by the default filter; community → IsPublic)', async () => {
    await em().admin.patchImage(REGION, IMAGE, { status: 'Creating' });
    expect((await describeImages(client(em()), { imageId: IMAGE })).body?.images?.image).toEqual([]);
    const img = await em().admin.patchImage(REGION, IMAGE, { status: 'Available', community: true });
    expect(img.progress).toBe('100%');
    const seen = await describeImages(client(em()), { imageId: IMAGE });
    expect(seen.body?.images?.image?.[0]?.isPublic).toBe(true);
  });

  it('applies owner patches (signing the agreement lets a publish through)', async () => {
    await em().admin.reset(baseSeed({ owner: { agreementSigned: false } }));
    expect((await sdkError(misp(client(em()), { isPublic: true }))).code).toBe('PublicImageAgreement.NotSigned');
    await em().admin.patchOwner(OWNER, { agreementSigned: true });
    await expect(misp(client(em()), { isPublic: true })).resolves.toMatchObject({ statusCode: 200 });
  });

  it('shares out of band past every rule (here: 55 accounts on one image) and removes', async () => {
    const ids = Array.from({ length: 55 }, (_, i) => String(6000000000000001n + BigInt(i)));
    await em().admin.share(REGION, IMAGE, { add: ids });
    expect(await allShares(client(em()))).toHaveLength(55);
    await em().admin.share(REGION, IMAGE, { remove: ids.slice(0, 5) });
    expect(await allShares(client(em()))).toHaveLength(50);
  });

  it('answers 404 for unknown images/owners/routes and 400 with problems for a bad seed or patch', async () => {
    await expect(em().admin.image(REGION, 'm-none')).rejects.toMatchObject({ status: 404 });
    await expect(em().admin.patchOwner('1999999999999999', { agreementSigned: true })).rejects.toMatchObject({
      status: 404,
    });
    await expect(em().admin.patchImage(REGION, IMAGE, { status: 'Gone' as never })).rejects.toMatchObject({
      status: 400,
    });
    await expect(em().admin.setOptions({ listOverflow: 'drop' as never })).rejects.toMatchObject({ status: 400 });
    const bad = await em()
      .admin.reset({ images: [{ id: 'm-x', region: REGION, owner: OWNER }] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(AdminApiError);
    expect((bad as AdminApiError).problems.join('\n')).toContain(`owner ${OWNER} not found`);
    const res = await fetch(`${em().url}/_admin/nope`);
    expect(res.status).toBe(404);
  });

  it('reset clears the call log, faults and throttle', async () => {
    await misp(client(em()), { addAccount: [rcp(0)] });
    await em().admin.addFault({ type: 'error', code: 'InternalError' });
    await em().admin.throttle({ qps: 0.001 });
    await em().admin.reset(baseSeed());
    expect((await em().admin.calls()).calls).toEqual([]);
    await expect(misp(client(em()), { addAccount: [rcp(0)] })).resolves.toMatchObject({ statusCode: 200 });
    await expect(misp(client(em()), { addAccount: [rcp(1)] })).resolves.toMatchObject({ statusCode: 200 });
  });

  it('answers every API reply as application/json', async () => {
    const res = await fetch(`${em().url}/?RegionId=${REGION}`, { method: 'POST' });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
  });
});
