// One fixed sequence of adapter calls against the emulator, run by lazy-sdk.test.ts twice: in Jest (whose registry
// loads the SDK's models barrel eagerly) and in a plain Node child (where src/cloud/ecs-sdk.ts primes it lazily).
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { CloudError, type ImageRef } from '../../src/cloud/port.ts';
import { CREDS, OTHER_SITE, REGION, recipient, UNKNOWN } from './adapter-fixtures.ts';

const ref: ImageRef = { regionId: REGION, imageId: 'm-test' };

/** What each step returned or threw (kind, code and reason for a CloudError), in order; JSON-safe. */
export async function lazySdkScenario(endpoint: string): Promise<unknown[]> {
  const factory = createEcsImageSharingFactory({
    endpoint,
    protocol: 'http',
    timeoutMs: 5000,
    qps: 1000,
    burst: 1000,
    maxAttempts: 1,
    sleep: async () => {},
  });
  const sharing = factory.forCredentials(CREDS);
  const outcome = async (step: string, call: () => Promise<unknown>) => {
    try {
      return { step, ok: await call() };
    } catch (err: unknown) {
      if (!(err instanceof CloudError)) throw err;
      return { step, error: { name: err.name, code: err.code, reason: err.reason, kind: err.kind } };
    }
  };
  const observe = async () => {
    const o = await sharing.observe(ref);
    return { ...o, sharedAccounts: o.sharedAccounts.map((a) => a.id) };
  };
  const missing: ImageRef = { regionId: REGION, imageId: 'm-missing' };
  return [
    await outcome('observe', observe),
    await outcome('grant', () => sharing.grant(ref, [recipient(0), recipient(1), UNKNOWN, OTHER_SITE])),
    await outcome('revoke', () => sharing.revoke(ref, [recipient(1)])),
    await outcome('tag', () => sharing.tagImage(ref, { team: 'a', tier: 'gold' })),
    await outcome('untag', () => sharing.untagImage(ref, ['tier'])),
    await outcome('community', () => sharing.setCommunity(ref, true)),
    await outcome('list', async () => (await sharing.listOwnImages?.(REGION, { tags: { team: 'a' } }))?.length),
    await outcome('observe again', observe),
    await outcome('observe a missing image', () => sharing.observe(missing)),
  ];
}
