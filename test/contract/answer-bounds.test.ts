// Answers that must not be believed or must not hold a worker (issue 14 items 5, 8 and 12): an answer dripped one
// byte at a time, one that never ends, one far larger than any real answer, a 200 whose body carries an error code,
// a write ECS applied but answered SignatureNonceUsed, and IncorrectImageStatus on an image that can never become
// Available. The unmodified SDK against the emulator; no assertion on elapsed time.
import { describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import { createEcsImageSharingFactory, type EcsFactoryOptions } from '../../src/cloud/ecs-factory.ts';
import { CloudError, type ImageRef, outcomeUnknown } from '../../src/cloud/port.ts';
import { CREDS, REGION, RECIPIENTS, world } from './adapter-fixtures.ts';
import { useEmulator } from './use-emulator.ts';

const emu = useEmulator(world);
const ref: ImageRef = { regionId: REGION, imageId: 'm-test' };

function sharing(o: Partial<EcsFactoryOptions> = {}) {
  return createEcsImageSharingFactory({
    endpoint: emu().endpoint,
    protocol: 'http',
    timeoutMs: 800,
    qps: 1000,
    burst: 1000,
    maxAttempts: 1,
    sleep: async () => undefined,
    ...o,
  }).forCredentials(CREDS);
}

async function failure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(err)}`);
  return err;
}

const shared = async () => (await emu().admin.image(REGION, 'm-test')).sharedWith.map((s) => s.id).sort();

describe('the request deadline bounds the whole answer, not the idle time (item 13)', () => {
  it('an answer that drips whitespace forever ends at the deadline as a transient DeadlineExceeded', async () => {
    // Why: each byte resets the socket idle timer, so the SDK's own timeouts never fire; the pass would hang.
    // A first call leaves a keep-alive socket, on which the SDK's readTimeout is not enforced (reference §4.6).
    const s = sharing();
    await s.observe(ref);
    await emu().admin.addFault({ type: 'drip', ms: 100, forever: true, action: 'DescribeImages', times: 1 });
    const err = await failure(s.observe(ref));
    expect([err.code, err.kind, err.reason]).toEqual(['DeadlineExceeded', 'transient', Reason.CloudUnreachable]);
  }, 15_000);

  it('a grant whose answer drips past the deadline is unknown, not refused (ECS applied it)', async () => {
    const s = sharing();
    await s.observe(ref);
    await emu().admin.addFault({ type: 'drip', ms: 100, forever: true, action: 'ModifyImageSharePermission' });
    const { results, error } = await s.grant(ref, RECIPIENTS.slice(0, 2));
    expect(error?.code).toBe('DeadlineExceeded');
    expect(results.map((r) => r.ok)).toEqual(['unknown', 'unknown']);
    expect(await shared()).toEqual(RECIPIENTS.slice(0, 2).sort());
  }, 15_000);

  it('control: an answer dripped within the deadline is read and believed', async () => {
    await emu().admin.addFault({ type: 'drip', ms: 1, action: 'DescribeImages', times: 1 });
    await expect(sharing({ timeoutMs: 5000 }).observe(ref)).resolves.toMatchObject({ status: 'Available' });
  });
});

describe('answers have a size bound (item 13)', () => {
  it('a 30 MB share page is a transient MalformedResponse, not a crash or 30 MB held in memory', async () => {
    await emu().admin.addFault({ type: 'hugeBody', bytes: 30_000_000, action: 'DescribeImageSharePermission' });
    const err = await failure(sharing({ timeoutMs: 10_000 }).observe(ref));
    expect([err.code, err.kind, err.reason]).toEqual(['MalformedResponse', 'transient', Reason.CloudAPIError]);
  }, 20_000);

  it('control: the same padding under the cap is read and believed (the SDK drops the unknown field)', async () => {
    await emu().admin.addFault({ type: 'hugeBody', bytes: 100_000, action: 'DescribeImageSharePermission' });
    await expect(sharing({ timeoutMs: 10_000 }).observe(ref)).resolves.toMatchObject({ sharedAccounts: [] });
  });
});

describe('a 200 whose body carries an error code is an error (item 12)', () => {
  it('a revoke answered 200 {Code: Throttling.User} that did not happen is unknown, never accepted', async () => {
    // Why: the SDK maps the body to a model that has no Code field, so the call looked like a success.
    await emu().admin.share(REGION, 'm-test', { add: RECIPIENTS.slice(0, 2) });
    await emu().admin.addFault({ type: 'errorIn200', code: 'Throttling.User', action: 'ModifyImageSharePermission' });
    const { results, error } = await sharing().revoke(ref, RECIPIENTS.slice(0, 2));
    expect([error?.code, error?.kind, error && outcomeUnknown(error)]).toEqual([
      'MalformedResponse',
      'transient',
      true,
    ]);
    expect(results.map((r) => r.ok)).toEqual(['unknown', 'unknown']);
    expect(await shared()).toEqual(RECIPIENTS.slice(0, 2).sort()); // still shared: believing it would hide that
  });

  it('a publish answered 200 with an error code is unknown too', async () => {
    await emu().admin.addFault({ type: 'errorIn200', code: 'InternalError', action: 'ModifyImageSharePermission' });
    const err = await failure(sharing().setCommunity(ref, true));
    expect([err.code, outcomeUnknown(err)]).toEqual(['MalformedResponse', true]);
  });
});

describe('SignatureNonceUsed means ECS already received the request (item 8)', () => {
  it('a grant ECS applied but answered SignatureNonceUsed is unknown, not refused', async () => {
    await emu().admin.addFault({ type: 'appliedError', code: 'SignatureNonceUsed', times: 1 });
    const { results, error } = await sharing().grant(ref, RECIPIENTS.slice(0, 2));
    expect(error?.code).toBe('SignatureNonceUsed');
    expect(results.map((r) => r.ok)).toEqual(['unknown', 'unknown']);
    expect(await shared()).toEqual(RECIPIENTS.slice(0, 2).sort());
  });
});

describe('IncorrectImageStatus stalls only when the image can never become Available (item 8)', () => {
  const rows = [
    ['CreateFailed', 'terminal', 'a failed build never becomes Available: retrying forever helps nobody'],
    ['UnAvailable', 'terminal', 'an unavailable image does not come back by itself'],
    ['Creating', 'transient', 'an image still being created will be Available soon'],
    ['Waiting', 'transient', 'an image waiting to be created will be Available soon'],
  ] as const;
  it.each(rows)('image %s → %s: %s', async (status, kind, _why) => {
    await emu().admin.reset(world({ image: { status } }));
    const { error } = await sharing().grant(ref, RECIPIENTS.slice(0, 1));
    expect([error?.code, error?.kind, error?.reason]).toEqual(['IncorrectImageStatus', kind, Reason.ImageNotAvailable]);
    if (kind === 'terminal') expect(error?.message).toContain(status);
  });
});
