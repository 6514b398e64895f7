// The adapter's waits end on the pass's signal (issue 20 item 3, cloud half; issue 14 item 1): an abort while a retry
// waits for a rate-budget token, or while it sleeps before the next try, returns at once, and a write whose first
// try may have reached ECS comes back unknown, not unsent. Time is a fake clock; the SDK client is a stub (the real
// SDK against the emulator is test/contract/ambiguous-writes.test.ts).
import { describe, expect, it } from '@jest/globals';
import { type EcsClient, EcsImageSharing } from '../../src/cloud/ecs-image-sharing.ts';
import { type ImageRef, outcomeUnknown, PassAborted } from '../../src/cloud/port.ts';
import { RateBudget } from '../../src/cloud/rate-budget.ts';
import { FakeClock } from './fake-clock.ts';

const ref: ImageRef = { regionId: 'cn-hangzhou', imageId: 'm-1' };
const timeout = () => Object.assign(new Error('ReadTimeout(1000)'), { name: 'RequestTimeoutError' });

/** An adapter whose ModifyImageSharePermission times out (the answer is lost) and whose waits run on `clock`. */
function world(o: { qps: number; retrySleepMs: number }) {
  const clock = new FakeClock(0);
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(resolve, ms));
  const budget = new RateBudget({ qps: o.qps, burst: 1, now: () => clock.now(), sleep });
  let calls = 0;
  const client = {
    modifyImageSharePermission: async () => {
      calls++;
      throw timeout();
    },
  } as unknown as EcsClient;
  const sharing = new EcsImageSharing({
    clientFor: () => client,
    budgetFor: () => ({
      take: (t) => budget.take(t),
      throttled: () => undefined,
      succeeded: () => undefined,
    }),
    bounds: { timeoutMs: 60_000, maxResponseBytes: 1_000_000 },
    retry: { maxAttempts: 3, baseMs: o.retrySleepMs, capMs: o.retrySleepMs, sleep, random: () => 0.999 },
    now: () => clock.now(),
  });
  return { clock, sharing, calls: () => calls, budget };
}

describe('an abort during a wait ends the call at once and keeps the lost write unknown', () => {
  it('during take(): the retry waits for a token (1 qps), the pass is aborted, the grant is unknown', async () => {
    const w = world({ qps: 1, retrySleepMs: 1 });
    const ac = new AbortController();
    const done = w.sharing.grant(ref, ['2000000000000001'], ac.signal);
    await w.clock.advance(5); // try 1 timed out; the retry slept 1 ms and now waits ~1 s for a token
    expect([w.calls(), w.budget.waiting()]).toEqual([1, 1]);
    ac.abort();
    const { results, error } = await done; // without the clock reaching the token
    expect(error).toBeInstanceOf(PassAborted);
    expect([error?.maybeApplied, error && outcomeUnknown(error), results.map((r) => r.ok)]).toEqual([
      true,
      true,
      ['unknown'],
    ]);
    expect([w.calls(), w.budget.waiting()]).toEqual([1, 0]);
  });

  it('during the retry sleep: the pass is aborted 10 ms into a 10 s wait, the grant is unknown', async () => {
    const w = world({ qps: 1000, retrySleepMs: 10_000 });
    const ac = new AbortController();
    const done = w.sharing.grant(ref, ['2000000000000001'], ac.signal);
    await w.clock.advance(10);
    expect(w.calls()).toBe(1);
    ac.abort();
    const { results, error } = await done;
    expect([error?.code, error?.maybeApplied, results.map((r) => r.ok)]).toEqual(['PassAborted', true, ['unknown']]);
    expect(w.clock.now()).toBe(10);
  });
});
