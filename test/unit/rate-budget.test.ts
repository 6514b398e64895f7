import { describe, expect, it } from '@jest/globals';
import { ownerAccountIn } from '../../src/cloud/ecs-factory.ts';
import { accountOfRoleArn, BudgetRegistry, BudgetWaitTimeout, RateBudget } from '../../src/cloud/rate-budget.ts';
import { CallPriority, withCallPriority } from '../../src/runtime/call-priority.ts';
import { FakeClock, settle } from './fake-clock.ts';

/** A fake clock whose sleep advances time instantly: for sequential pacing checks. */
function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

/** A budget on the shared FakeClock: sleeps wait until the test advances time, so waiters can pile up. */
function clockedBudget(o: { qps: number; burst: number; increaseQps?: number }) {
  const clock = new FakeClock(0);
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(resolve, ms));
  return { clock, budget: new RateBudget({ ...o, now: () => clock.now(), sleep }) };
}

/** Takes `n` tokens in a row and returns the times they were granted. */
async function grantTimes(b: RateBudget, time: { now: () => number }, n: number): Promise<number[]> {
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    await b.take();
    at.push(time.now());
  }
  return at;
}

describe('RateBudget: a token bucket', () => {
  it('lets a full burst through without waiting: a quiet bucket is full', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 2, burst: 3, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 3; i++) await b.take();
    expect(time.sleeps).toEqual([]);
  });

  it('paces takes beyond the burst at 1/qps: the 4th call at 2 qps waits 500 ms', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 2, burst: 3, now: time.now, sleep: time.sleep });
    expect(await grantTimes(b, time, 7)).toEqual([0, 0, 0, 500, 1000, 1500, 2000]);
  });

  it('never exceeds burst + qps*t in any window, with concurrent takers and successes reported (property)', async () => {
    const qps = 5;
    const burst = 2;
    const { clock, budget: b } = clockedBudget({ qps, burst, increaseQps: 10 });
    const grantedAt: number[] = [];
    const all = Promise.all(
      Array.from({ length: 60 }, async () => {
        await b.take();
        b.succeeded(); // successes must never push the rate above the ceiling
        grantedAt.push(clock.now());
      }),
    );
    await clock.advance(20_000);
    await all;
    grantedAt.sort((x, y) => x - y);
    for (let i = 0; i < grantedAt.length; i++) {
      for (let j = i; j < grantedAt.length; j++) {
        const window = (grantedAt[j] ?? 0) - (grantedAt[i] ?? 0);
        expect(j - i + 1).toBeLessThanOrEqual(burst + (qps * window) / 1000 + 1e-9);
      }
    }
    expect(grantedAt).toHaveLength(60);
    expect(b.rate()).toBe(qps);
  });

  it('refills with time but never above burst: a long pause does not bank extra calls', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 1, burst: 2, now: time.now, sleep: time.sleep });
    await b.take();
    await b.take();
    time.advance(60_000);
    expect(b.available()).toBe(2);
  });

  it('serves takers of one priority in arrival order, so one busy object cannot starve another', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 10, burst: 1, now: time.now, sleep: time.sleep });
    const order: string[] = [];
    await Promise.all(['a1', 'b1', 'a2', 'b2', 'a3'].map((id) => b.take().then(() => order.push(id))));
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
  });

  it.each([
    [0, 1, 'qps must be positive'],
    [1, 0, 'burst must allow at least one call'],
  ])('rejects qps %d / burst %d: %s', (qps, burst) => {
    const time = fakeTime();
    expect(() => new RateBudget({ qps, burst, now: time.now, sleep: time.sleep })).toThrow(RangeError);
  });
});

describe('RateBudget: adaptive (AIMD)', () => {
  it('a throttle halves the rate, drops saved tokens and honours retry-after before the next call', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 4, burst: 4, now: time.now, sleep: time.sleep });
    await b.take();
    b.throttled(3_000);
    expect(b.rate()).toBe(2);
    // Nothing before the retry-after ends; then one token every 1/2 s (the bucket was emptied, so no burst).
    expect(await grantTimes(b, time, 3)).toEqual([3_000, 3_500, 4_000]);
  });

  it('without retry-after a throttle still halves and empties the bucket', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 4, burst: 4, now: time.now, sleep: time.sleep });
    b.throttled();
    expect(b.rate()).toBe(2);
    expect(await grantTimes(b, time, 2)).toEqual([500, 1000]);
  });

  it('repeated throttles halve down to the floor and no further', () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 8, burst: 1, now: time.now, sleep: time.sleep, floorQps: 1 });
    const rates: number[] = [];
    for (let i = 0; i < 5; i++) {
      b.throttled();
      rates.push(b.rate());
    }
    expect(rates).toEqual([4, 2, 1, 1, 1]);
  });

  it('successes recover the rate additively, capped at the ceiling', () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 4, burst: 1, now: time.now, sleep: time.sleep, increaseQps: 0.5 });
    b.throttled();
    const rates: number[] = [];
    for (let i = 0; i < 6; i++) {
      b.succeeded();
      rates.push(b.rate());
    }
    expect(rates).toEqual([2.5, 3, 3.5, 4, 4, 4]);
  });

  it('the pace follows the current rate: after recovery calls are spaced at 1/ceiling again', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 2, burst: 1, now: time.now, sleep: time.sleep, increaseQps: 1 });
    b.throttled();
    expect(await grantTimes(b, time, 1)).toEqual([1_000]); // 1 qps
    b.succeeded(); // back to 2 qps
    expect(await grantTimes(b, time, 2)).toEqual([1_500, 2_000]);
  });
});

describe('RateBudget: priority', () => {
  it('an urgent waiter goes before background waiters that arrived earlier', async () => {
    const { clock, budget } = clockedBudget({ qps: 1, burst: 1 });
    const order: string[] = [];
    await budget.take(CallPriority.Background); // spends the only token
    const waits = [
      budget.take(CallPriority.Background).then(() => order.push('resync-1')),
      budget.take(CallPriority.Background).then(() => order.push('resync-2')),
    ];
    await settle();
    waits.push(budget.take(CallPriority.Urgent).then(() => order.push('spec-change')));
    await clock.advance(3_000);
    await Promise.all(waits);
    expect(order).toEqual(['spec-change', 'resync-1', 'resync-2']);
  });

  it('without an explicit priority, take() uses the caller’s async context (set by the work queue)', async () => {
    const { clock, budget } = clockedBudget({ qps: 1, burst: 1 });
    const order: string[] = [];
    await budget.take();
    const background = withCallPriority(CallPriority.Background, () => budget.take().then(() => order.push('bg')));
    await settle();
    const urgent = budget.take().then(() => order.push('urgent')); // outside any context: urgent
    await clock.advance(2_000);
    await Promise.all([background, urgent]);
    expect(order).toEqual(['urgent', 'bg']);
  });
});

describe('BudgetRegistry: one budget per (owning account, region, action)', () => {
  const registry = (idleMs = 60_000) => {
    const time = fakeTime();
    return { time, reg: new BudgetRegistry({ qps: 5, burst: 10, now: time.now, sleep: time.sleep, idleMs }) };
  };

  it.each([
    {
      why: 'ECS limits each action separately, so reads cannot starve writes',
      a: ['k1', 'cn-hangzhou', 'DescribeImages'],
      b: ['k1', 'cn-hangzhou', 'ModifyImageSharePermission'],
      same: false,
    },
    {
      why: 'limits are per region',
      a: ['k1', 'cn-hangzhou', 'DescribeImages'],
      b: ['k1', 'cn-beijing', 'DescribeImages'],
      same: false,
    },
    {
      why: 'two unresolved keys are budgeted apart (we cannot know they share an account)',
      a: ['k1', 'cn-hangzhou', 'DescribeImages'],
      b: ['k2', 'cn-hangzhou', 'DescribeImages'],
      same: false,
    },
    {
      why: 'one key, region and action is one budget',
      a: ['k1', 'cn-hangzhou', 'DescribeImages'],
      b: ['k1', 'cn-hangzhou', 'DescribeImages'],
      same: true,
    },
  ])('$why', ({ a, b, same }) => {
    const { reg } = registry();
    const [ka = '', ra = '', aa = ''] = a;
    const [kb = '', rb = '', ab = ''] = b;
    expect(reg.budget(ka, ra, aa) === reg.budget(kb, rb, ab)).toBe(same);
  });

  it('two keys of one account share the account’s budget once their account is known', async () => {
    const { reg, time } = registry();
    reg.learnAccount('static:key-one', '1111222233334444');
    reg.learnAccount('static:key-two', '1111222233334444');
    const one = reg.budget('static:key-one', 'cn-hangzhou', 'ModifyImageSharePermission');
    const two = reg.budget('static:key-two', 'cn-hangzhou', 'ModifyImageSharePermission');
    expect(one).toBe(two);
    // So a throttle seen through one key slows the other.
    one.throttled(1_000);
    await two.take();
    expect(time.now()).toBe(1_000);
  });

  it.each([
    {
      why: 'at the quota-safe 5/s calls are paced one at a time, so no window of ECS sees more than its quota',
      qps: 5,
      burst: 10,
      tokens: 1,
    },
    { why: 'a high ceiling still allows 200 ms worth of calls back to back', qps: 100, burst: 50, tokens: 20 },
    { why: '--ecs-burst stays an upper bound', qps: 100, burst: 3, tokens: 3 },
  ])('bucket size: $why', ({ qps, burst, tokens }) => {
    const time = fakeTime();
    const reg = new BudgetRegistry({ qps, burst, now: time.now, sleep: time.sleep });
    expect(reg.budget('k', 'r', 'a').available()).toBe(tokens);
  });

  it('drops buckets and account links idle for idleMs, and keeps busy ones', async () => {
    const { reg, time } = registry(60_000);
    reg.learnAccount('k1', '1');
    const busy = reg.budget('k2', 'r', 'DescribeImages');
    reg.budget('k1', 'r', 'DescribeImages');
    expect(reg.size()).toBe(2);
    time.advance(30_000);
    await busy.take();
    time.advance(40_000);
    reg.budget('k2', 'r', 'DescribeImages'); // triggers the sweep
    expect(reg.size()).toBe(1);
    expect(reg.ownerOf('k1')).toBe('identity:k1');
  });
});

describe('account resolution', () => {
  it.each([
    {
      why: 'a role ARN names its account',
      arn: 'acs:ram::1234567890123456:role/image-owner',
      account: '1234567890123456',
    },
    { why: 'a malformed ARN names nothing; the role is budgeted on its own', arn: 'not-an-arn', account: undefined },
  ])('$why', ({ arn, account }) => {
    expect(accountOfRoleArn(arn)).toBe(account);
  });

  it.each([
    {
      why: 'a self image with ImageOwnerId names our account',
      action: 'DescribeImages',
      image: { imageOwnerAlias: 'self', imageOwnerId: 42 },
      account: '42',
    },
    {
      why: 'another owner’s image says nothing about our account',
      action: 'DescribeImages',
      image: { imageOwnerAlias: 'others', imageOwnerId: 42 },
      account: undefined,
    },
    {
      why: 'current ECS leaves ImageOwnerId out for self images',
      action: 'DescribeImages',
      image: { imageOwnerAlias: 'self' },
      account: undefined,
    },
    {
      why: 'only DescribeImages answers are read',
      action: 'DescribeImageSharePermission',
      image: { imageOwnerAlias: 'self', imageOwnerId: 42 },
      account: undefined,
    },
  ])('$why', ({ action, image, account }) => {
    expect(ownerAccountIn(action, { body: { images: { image: [image] } } })).toBe(account);
  });
});

describe('RateBudget: every wait ends on the caller signal or its timeout', () => {
  it('an abort during take() rejects at once, leaves the queue, and takes no token', async () => {
    // Why: a pass cancelled (deadline, newer spec, shutdown) must not sit in the queue for a token it will not use.
    const { clock, budget } = clockedBudget({ qps: 1, burst: 1 });
    await budget.take(); // spends the only token: the next take waits 1 s on the fake clock
    const ac = new AbortController();
    const waiting = budget.take({ signal: ac.signal }).then(
      () => 'granted',
      (e: unknown) => (e as Error).name,
    );
    await clock.advance(10);
    expect(budget.waiting()).toBe(1);
    ac.abort();
    expect(await waiting).toBe('AbortError'); // without the clock reaching the token
    expect(budget.waiting()).toBe(0);
    await clock.advance(1000);
    expect(budget.available()).toBeGreaterThanOrEqual(1); // the token it did not take is still there
  });

  it('a take with timeoutMs rejects with BudgetWaitTimeout when the bucket is paused longer than that', async () => {
    // Why: a server retry-after of minutes must not hold a worker; the pass comes back later instead.
    const { clock, budget } = clockedBudget({ qps: 1, burst: 1 });
    budget.throttled(600_000);
    const waiting = budget.take({ timeoutMs: 5_000 }).then(
      () => 'granted',
      (e: unknown) => e,
    );
    await clock.advance(5_000);
    const err = await waiting;
    expect(err).toBeInstanceOf(BudgetWaitTimeout);
    expect((err as BudgetWaitTimeout).waitMs).toBeGreaterThan(500_000);
    expect(budget.waiting()).toBe(0);
  });

  it('a granted take ends its timeout wait, every time with the one AbortError built at load', async () => {
    // Why: abort() without a reason builds a DOMException per ECS call (about 1 ms each in a CPU profile).
    const clock = new FakeClock(0);
    const ended: AbortSignal[] = [];
    const sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        signal?.addEventListener('abort', () => ended.push(signal), { once: true });
        clock.setTimer(resolve, ms);
      });
    const budget = new RateBudget({ qps: 1, burst: 1, now: () => clock.now(), sleep });
    await budget.take();
    for (let i = 0; i < 2; i++) {
      const granted = budget.take({ timeoutMs: 5_000 });
      await clock.advance(1_000);
      await granted;
    }
    expect(ended.map((s) => (s.reason as Error).name)).toEqual(['AbortError', 'AbortError']);
    expect(ended[0]?.reason).toBe(ended[1]?.reason);
  });

  it('control: without a signal or timeout the same take waits for its token and gets it', async () => {
    const { clock, budget } = clockedBudget({ qps: 1, burst: 1 });
    await budget.take();
    let granted = false;
    const waiting = budget.take().then(() => {
      granted = true;
    });
    await clock.advance(999);
    expect(granted).toBe(false);
    await clock.advance(1);
    await waiting;
    expect(granted).toBe(true);
  });
});
