// The ECS adapter with the unmodified SDK against the emulator: paging, batching, culprit isolation, IsPublic on
// its own, throttling and retry-after, the shared rate budget, transport faults, and no retries of terminal codes.
// Counts come from the emulator's call log, waits from an injected sleep; nothing asserts on elapsed time.
import { describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import type { EcsCallEvent } from '../../src/cloud/ecs-image-sharing.ts';
import { createEcsImageSharingFactory, type EcsFactoryOptions } from '../../src/cloud/ecs-factory.ts';
import { CloudError, type ImageRef } from '../../src/cloud/port.ts';
import { useEmulator } from './use-emulator.ts';
import { CREDS, KEY_ID, KEY_SECRET, OWNER, REGION, RECIPIENTS, recipient, UNKNOWN, world } from './adapter-fixtures.ts';

const emu = useEmulator(world);

const ref: ImageRef = { regionId: REGION, imageId: 'm-test' };
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A port on the emulator; sleeps are recorded (and skipped unless `realTime`). */
function adapter(o: Partial<EcsFactoryOptions> & { realTime?: boolean } = {}) {
  const sleeps: number[] = [];
  const events: EcsCallEvent[] = [];
  const { realTime, ...rest } = o;
  const factory = createEcsImageSharingFactory({
    endpoint: emu().endpoint,
    protocol: 'http',
    timeoutMs: 5000,
    qps: 1000,
    burst: 1000,
    maxAttempts: 4,
    onCall: (e) => events.push(e),
    sleep: async (ms) => {
      sleeps.push(ms);
      if (realTime) await realSleep(ms);
    },
    ...rest,
  });
  return { factory, sharing: factory.forCredentials(CREDS), sleeps, events };
}

async function mispCalls() {
  return (await emu().admin.calls()).calls.filter((c) => c.action === 'ModifyImageSharePermission');
}

function listSize(params: Record<string, unknown>, list: string): number {
  return Object.keys(params).filter((k) => k.startsWith(`${list}.`)).length;
}

describe('observe', () => {
  it('reads every page of the share list: 130 shares → 2 pages of 100 + 30, sorted by id', async () => {
    const shared = RECIPIENTS.slice(0, 130);
    await emu().admin.share(REGION, 'm-test', { add: [...shared].reverse() });
    await emu().admin.clearCalls();
    const observed = await adapter().sharing.observe(ref);
    expect(observed.sharedAccounts.map((a) => a.id)).toEqual([...shared].sort());
    expect(observed.sharedAccounts.every((a) => typeof a.sharedTime === 'string')).toBe(true);
    const log = await emu().admin.calls();
    expect(log.counts.byAction).toEqual({ DescribeImages: 1, DescribeImageSharePermission: 2 });
    const lookup = log.calls.find((c) => c.action === 'DescribeImages')?.params;
    expect(lookup).toMatchObject({ RegionId: REGION, ImageId: 'm-test', ImageOwnerAlias: 'self', Status: 'ALL' });
    const pages = log.calls.filter((c) => c.action === 'DescribeImageSharePermission').map((c) => c.params);
    expect(pages.map((p) => [p.PageNumber, p.PageSize])).toEqual([
      ['1', '100'],
      ['2', '100'],
    ]);
  });

  it('reports image metadata, community from IsPublic and encryption from the disk mappings', async () => {
    await emu().admin.reset(world({ image: { community: true, encryption: 'cmk', name: 'n1', description: 'd1' } }));
    const o = await adapter().sharing.observe(ref);
    expect(o).toMatchObject({
      name: 'n1',
      description: 'd1',
      status: 'Available',
      community: true,
      encrypted: true,
      ownerAlias: 'self',
      sharedAccounts: [],
    });
  });

  it('sees an image that is still Creating (Status=ALL), which the default Status filter would hide', async () => {
    await emu().admin.reset(world({ image: { status: 'Creating' } }));
    await expect(adapter().sharing.observe(ref)).resolves.toMatchObject({ status: 'Creating' });
  });

  it('throws terminal ImageNotFound for a missing image', async () => {
    const err = await adapter()
      .sharing.observe({ regionId: REGION, imageId: 'm-nope' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect([(err as CloudError).kind, (err as CloudError).reason]).toEqual(['terminal', Reason.ImageNotFound]);
  });
});

describe('the owner tag (TagResources / UntagResources)', () => {
  it('writes the tag with one TagResources call, reads it back from DescribeImages at no extra cost, and removes it', async () => {
    const { sharing } = adapter();
    await sharing.tagImage(ref, { 'imageshare.ecs.alicloud.dev/owner': 'c1/team-a/golden' });
    await emu().admin.clearCalls();
    expect((await sharing.observe(ref)).tags).toEqual({ 'imageshare.ecs.alicloud.dev/owner': 'c1/team-a/golden' });
    expect((await emu().admin.calls()).counts.byAction).toEqual({ DescribeImages: 1, DescribeImageSharePermission: 1 });
    await sharing.untagImage(ref, ['imageshare.ecs.alicloud.dev/owner']);
    expect((await sharing.observe(ref)).tags).toEqual({});
    const tagCall = (await emu().admin.calls()).calls.find((c) => c.action === 'UntagResources');
    expect(tagCall?.params).toMatchObject({
      RegionId: REGION,
      ResourceType: 'image',
      'ResourceId.1': 'm-test',
      'TagKey.1': 'imageshare.ecs.alicloud.dev/owner',
    });
  });

  it('a RAM policy without ecs:TagResources gives terminal AccessDenied, and reads still work', async () => {
    const seed = world();
    const allowedActions = ['DescribeImages', 'DescribeImageSharePermission', 'ModifyImageSharePermission'];
    await emu().admin.reset({
      ...seed,
      owners: (seed.owners ?? []).map((o) => ({ ...o, keys: (o.keys ?? []).map((k) => ({ ...k, allowedActions })) })),
    });
    const { sharing } = adapter();
    const err = await sharing.tagImage(ref, { k: 'v' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect([(err as CloudError).kind, (err as CloudError).reason, (err as CloudError).code]).toEqual([
      'terminal',
      Reason.AccessDenied,
      'Forbidden.RAM',
    ]);
    await expect(sharing.observe(ref)).resolves.toMatchObject({ tags: {} });
  });
});

describe('grant and revoke batching', () => {
  it('23 adds become exactly 3 calls of at most 10 accounts, with no IsPublic, LaunchPermission or DryRun', async () => {
    const ids = RECIPIENTS.slice(0, 23);
    const { results } = await adapter().sharing.grant(ref, ids);
    expect(results).toEqual(ids.map((id) => ({ id, ok: true })));
    const calls = await mispCalls();
    expect(calls.map((c) => listSize(c.params, 'AddAccount'))).toEqual([10, 10, 3]);
    for (const c of calls) {
      expect(Object.keys(c.params).filter((k) => /^(IsPublic|LaunchPermission|DryRun|RemoveAccount)/.test(k))).toEqual(
        [],
      );
    }
    expect((await emu().admin.image(REGION, 'm-test')).sharedWith.map((s) => s.id).sort()).toEqual([...ids].sort());
  });

  it('revokes in batches of at most 10 too', async () => {
    await emu().admin.share(REGION, 'm-test', { add: RECIPIENTS.slice(0, 12) });
    await emu().admin.clearCalls();
    const { results } = await adapter().sharing.revoke(ref, RECIPIENTS.slice(0, 12));
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await mispCalls()).map((c) => listSize(c.params, 'RemoveAccount'))).toEqual([10, 2]);
    expect((await emu().admin.image(REGION, 'm-test')).sharedWith).toEqual([]);
  });

  it('isolates an unknown account in a batch of 10 with ONE extra call, because ECS names it in the message', async () => {
    const good = RECIPIENTS.slice(0, 9);
    const batch = [...good.slice(0, 4), UNKNOWN, ...good.slice(4)];
    const { results } = await adapter().sharing.grant(ref, batch);
    expect(results.map((r) => r.id)).toEqual(batch);
    const bad = results.find((r) => r.id === UNKNOWN);
    expect(bad && !bad.ok && [bad.error.reason, bad.error.message]).toEqual([
      Reason.AccountNotFound,
      `Account ${UNKNOWN} does not exist; remove or correct it in spec.accounts.`,
    ]);
    expect(results.filter((r) => r.ok).map((r) => r.id)).toEqual(good);
    // 1 failing call + 1 retry of the other 9 = 2 calls in all.
    expect((await mispCalls()).map((c) => c.code)).toEqual(['InvalidAccount.NotFound', 'OK']);
    expect((await emu().admin.image(REGION, 'm-test')).sharedWith.map((s) => s.id).sort()).toEqual([...good].sort());
  });

  it('isolates the owner (a code that names nobody) in a batch of 10 by bisection: 7 calls for position 7', async () => {
    const good = RECIPIENTS.slice(0, 9);
    const batch = [...good.slice(0, 7), OWNER, ...good.slice(7)];
    const { results } = await adapter().sharing.grant(ref, batch);
    expect(results.filter((r) => !r.ok).map((r) => r.id)).toEqual([OWNER]);
    // [10] fails → [0..4] ok, [5..9] fails → [5,6,7] fails → [5,6] ok, [7] fails → [8,9] ok: 7 calls, 6 extra.
    // Bisection of a batch of 10 never needs more than 1 + 2*ceil(log2 10) = 9 calls for one culprit.
    const calls = await mispCalls();
    expect(calls.map((c) => c.code)).toEqual([
      'InvalidAccount.Forbbiden',
      'OK',
      'InvalidAccount.Forbbiden',
      'InvalidAccount.Forbbiden',
      'OK',
      'InvalidAccount.Forbbiden',
      'OK',
    ]);
    expect((await emu().admin.image(REGION, 'm-test')).sharedWith.map((s) => s.id).sort()).toEqual([...good].sort());
  });

  it('returns (does not isolate) the error when a batch fails for a reason that is not about accounts', async () => {
    await emu().admin.reset(world({ image: { status: 'Deprecated' } }));
    const { results, error } = await adapter().sharing.grant(ref, RECIPIENTS.slice(0, 3));
    expect(error?.reason).toBe(Reason.ImageDeprecated);
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    expect((await mispCalls()).length).toBe(1);
  });
});

describe('partial progress: what ECS accepted is never lost', () => {
  it('a later batch failing keeps the earlier batches as accepted, and the cloud agrees', async () => {
    const ids = RECIPIENTS.slice(0, 25);
    await emu().admin.throttle({ qps: 0.001, burst: 2 }); // two calls pass, the third is throttled past its retries
    const { results, error } = await adapter({ maxAttempts: 1 }).sharing.grant(ref, ids);
    expect(error?.reason).toBe(Reason.Throttled);
    const cloud = (await emu().admin.image(REGION, 'm-test')).sharedWith.map((x) => x.id).sort();
    expect(cloud).toEqual(ids.slice(0, 20).sort());
    expect(
      results
        .filter((r) => r.ok === true)
        .map((r) => r.id)
        .sort(),
    ).toEqual(cloud);
    expect(results.filter((r) => r.ok === false).map((r) => r.id)).toEqual(ids.slice(20)); // throttled: refused, not unknown
  });

  it('bisection keeps the half ECS accepted when a later half fails for another reason', async () => {
    const good = RECIPIENTS.slice(0, 9);
    const batch = [...good.slice(0, 7), OWNER, ...good.slice(7)];
    // [10] fails (the owner) → [0..4] OK → [5..9] throttled past its retries.
    await emu().admin.throttle({ qps: 0.001, burst: 2 });
    const { results, error } = await adapter({ maxAttempts: 1 }).sharing.grant(ref, batch);
    const cloud = (await emu().admin.image(REGION, 'm-test')).sharedWith.map((x) => x.id).sort();
    expect(error?.reason).toBe(Reason.Throttled);
    expect(cloud).toEqual(good.slice(0, 5).sort());
    expect(
      results
        .filter((r) => r.ok === true)
        .map((r) => r.id)
        .sort(),
    ).toEqual(cloud);
  });

  it('a write whose answer was lost (applied, then the connection reset) is reported as unknown, not refused', async () => {
    await emu().admin.addFault({ type: 'lostReply', action: 'ModifyImageSharePermission', times: 1 });
    const { results, error } = await adapter({ maxAttempts: 1 }).sharing.grant(ref, RECIPIENTS.slice(0, 2));
    expect(error?.reason).toBe(Reason.CloudUnreachable);
    expect(results.map((r) => r.ok)).toEqual(['unknown', 'unknown']);
    expect((await emu().admin.image(REGION, 'm-test')).sharedWith.map((x) => x.id).sort()).toEqual(
      RECIPIENTS.slice(0, 2).sort(),
    );
  });

  it('no call starts once the pass is cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    const { results, error } = await adapter().sharing.grant(ref, RECIPIENTS.slice(0, 3), ac.signal);
    expect([results, error?.code]).toEqual([[], 'PassAborted']);
    await expect(adapter().sharing.observe(ref, ac.signal)).rejects.toMatchObject({ code: 'PassAborted' });
    expect((await emu().admin.calls()).calls).toEqual([]);
  });
});

describe('strict observation: a malformed answer is never believed', () => {
  const rows = [
    {
      variant: 'accountsMissing',
      action: 'DescribeImageSharePermission',
      why: 'a list that is missing is not an empty list',
    },
    { variant: 'accountsNull', action: 'DescribeImageSharePermission', why: 'a null list against TotalCount > 0' },
    { variant: 'accountsEmpty', action: 'DescribeImageSharePermission', why: 'an empty list against TotalCount > 0' },
    { variant: 'errorInBody', action: 'DescribeImageSharePermission', why: 'an error code hiding in a 200' },
    {
      variant: 'badAccountId',
      action: 'DescribeImageSharePermission',
      why: 'path-like and comma-joined IDs must never be sent back to ECS',
    },
    {
      variant: 'longAccountId',
      action: 'DescribeImageSharePermission',
      why: 'an 80-digit ID would make every status write fail',
    },
    {
      variant: 'hugePage',
      action: 'DescribeImageSharePermission',
      why: 'one page of 5,000 accounts is more than PageSize allows',
    },
    {
      variant: 'imagesMissing',
      action: 'DescribeImages',
      why: 'a throttling body served with 200 is not "no such image"',
    },
  ] as const;
  it.each(rows)('$variant → transient CloudAPIError: $why', async ({ variant, action }) => {
    await emu().admin.share(REGION, 'm-test', { add: RECIPIENTS.slice(0, 3) });
    await emu().admin.addFault({ type: 'malformed', variant, action, times: 10 });
    const err = await adapter({ maxAttempts: 1 })
      .sharing.observe(ref)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect([(err as CloudError).kind, (err as CloudError).reason, (err as CloudError).code]).toEqual([
      'transient',
      Reason.CloudAPIError,
      'MalformedResponse',
    ]);
  });

  it('control: without the fault the same read succeeds, so the rows above can fail', async () => {
    await emu().admin.share(REGION, 'm-test', { add: RECIPIENTS.slice(0, 3) });
    await expect(adapter().sharing.observe(ref)).resolves.toMatchObject({
      sharedAccounts: expect.arrayContaining([expect.objectContaining({ id: RECIPIENTS[0] })]),
    });
  });
});

describe('community flag', () => {
  it('publishes with IsPublic alone in its call', async () => {
    await adapter().sharing.setCommunity(ref, true);
    const [call, ...rest] = await mispCalls();
    expect(rest).toEqual([]);
    expect(call?.params).toEqual({ RegionId: REGION, ImageId: 'm-test', IsPublic: 'true' });
    expect((await emu().admin.image(REGION, 'm-test')).community).toBe(true);
  });

  it('treats Image.NotPublic on unpublish as already done: one call, no retry, no error', async () => {
    await expect(adapter().sharing.setCommunity(ref, false)).resolves.toBeUndefined();
    expect((await mispCalls()).map((c) => c.code)).toEqual(['Image.NotPublic']);
  });
});

describe('throttling and the rate budget', () => {
  it('retries a throttled call and never waits less than the server retry-after', async () => {
    await emu().admin.throttle({ qps: 2, burst: 1, retryAfterMs: 300 });
    const a = adapter({ realTime: true, maxAttempts: 10 });
    for (let i = 0; i < 3; i++) await a.sharing.observe(ref);
    const log = await emu().admin.calls();
    expect(log.counts.byCode['Throttling.User'] ?? 0).toBeGreaterThan(0);
    // After every throttled answer the next call came no sooner than retry-after (as the emulator's log saw it; the
    // retry loop and the adaptive budget both wait, so the number of recorded waits is not one per throttle).
    const at = log.calls.map((c) => Date.parse(c.at));
    const gaps = log.calls.flatMap((c, i) =>
      c.code === 'Throttling.User' && i + 1 < at.length ? [(at[i + 1] ?? 0) - (at[i] ?? 0)] : [],
    );
    expect(gaps.length).toBeGreaterThan(0);
    for (const ms of gaps) expect(ms).toBeGreaterThanOrEqual(299);
  });

  const workload = async (a: ReturnType<typeof adapter>) => {
    // Four objects sharing one identity: each asks the factory for its port and grants one account at a time.
    await Promise.all(
      [0, 1, 2, 3].map(async (obj) => {
        const sharing = a.factory.forCredentials({ ...CREDS });
        for (let i = 0; i < 8; i++) await sharing.grant(ref, [recipient(obj * 8 + i)]);
      }),
    );
  };

  it('keeps 32 calls from four objects under the budget: zero Throttling codes at the same QPS', async () => {
    // Emulator bucket: 20 qps with burst 2; our budget: 20 qps with burst 1. The one token of slack absorbs
    // loopback jitter in arrival times; the sustained rate is the same on both sides.
    await emu().admin.throttle({ qps: 20, burst: 2 });
    const a = adapter({ realTime: true, qps: 20, burst: 1, maxAttempts: 1 });
    await workload(a);
    const log = await emu().admin.calls();
    expect(log.counts.byAction.ModifyImageSharePermission).toBe(32);
    expect(log.counts.byCode['Throttling.User'] ?? 0).toBe(0);
  });

  it('control: the same workload without a tight budget IS throttled, so the check above can fail', async () => {
    await emu().admin.throttle({ qps: 20, burst: 2 });
    const a = adapter({ realTime: true, qps: 1000, burst: 1000, maxAttempts: 1 });
    await workload(a).catch(() => undefined);
    expect((await emu().admin.calls()).counts.byCode['Throttling.User'] ?? 0).toBeGreaterThan(0);
  });
});

describe('transport faults and retries', () => {
  const faults: ['hang' | 'reset' | 'html502', string, string][] = [
    ['hang', 'DeadlineExceeded', 'a hung answer ends at the request deadline (--ecs-timeout) and is retried'],
    ['reset', 'ECONNRESET', 'a reset connection is retried'],
    ['html502', 'NonJSONResponse', 'an HTML 502 from a proxy is retried'],
  ];
  it.each(faults)('%s → %s, transient, retried, then success: %s', async (type, code) => {
    await emu().admin.addFault({ type, times: 1, action: 'DescribeImages' });
    const a = adapter({ timeoutMs: 300 });
    await expect(a.sharing.observe(ref)).resolves.toMatchObject({ status: 'Available' });
    const first = a.events[0];
    expect(first?.action).toBe('DescribeImages');
    expect(first?.code).toBe(code);
    expect(a.events.filter((e) => e.action === 'DescribeImages').map((e) => e.code === 'OK')).toEqual([false, true]);
    expect(a.sleeps).toHaveLength(1);
  });

  it('a terminal code is not retried: exactly one call', async () => {
    await emu().admin.addFault({ type: 'error', code: 'Forbidden.RAM', times: 5 });
    const a = adapter();
    const err = await a.sharing.observe(ref).catch((e: unknown) => e);
    expect([(err as CloudError).kind, (err as CloudError).reason]).toEqual(['terminal', Reason.AccessDenied]);
    expect((await emu().admin.calls()).calls.map((c) => c.code)).toEqual(['Forbidden.RAM']);
    expect(a.sleeps).toEqual([]);
  });

  it('a transient code is retried up to maxAttempts, then thrown', async () => {
    await emu().admin.addFault({ type: 'error', code: 'ServiceUnavailable', times: 10 });
    const a = adapter({ maxAttempts: 3 });
    const err = await a.sharing.observe(ref).catch((e: unknown) => e);
    expect([(err as CloudError).kind, (err as CloudError).reason]).toEqual(['transient', Reason.CloudUnavailable]);
    expect((await emu().admin.calls()).calls.map((c) => c.code)).toEqual(Array(3).fill('ServiceUnavailable'));
    expect(a.sleeps).toHaveLength(2);
  });

  it('reports every attempt to onCall by action and code, without credentials', async () => {
    const a = adapter();
    await a.sharing.grant(ref, [recipient(0), UNKNOWN]);
    expect(a.events.map((e) => [e.action, e.code])).toEqual([
      ['ModifyImageSharePermission', 'InvalidAccount.NotFound'],
      ['ModifyImageSharePermission', 'OK'],
    ]);
    expect(JSON.stringify(a.events)).not.toMatch(/LTAI|secret/);
  });
});

describe('factory', () => {
  it('returns one port per identity, and a new one (with new clients) when the secret material rotates', async () => {
    const { factory } = adapter();
    const a = factory.forCredentials({ type: 'static', accessKeyId: KEY_ID, accessKeySecret: KEY_SECRET });
    expect(factory.forCredentials({ type: 'static', accessKeyId: KEY_ID, accessKeySecret: KEY_SECRET })).toBe(a);
    const rotated = factory.forCredentials({ type: 'static', accessKeyId: KEY_ID, accessKeySecret: 'test-rotated' });
    expect(rotated).not.toBe(a);
    // The rotated port really signs with the new secret (which this world does not know).
    const err = await rotated.observe(ref).catch((e: unknown) => e);
    expect((err as CloudError).reason).toBe(Reason.SignatureMismatch);
  });
});
