import { describe, expect, it } from '@jest/globals';
import { RateBudget } from '../../src/cloud/rate-budget.ts';

/** A fake clock whose sleep advances time instantly. */
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

describe('RateBudget', () => {
  it('lets a full burst through without waiting: a quiet bucket is full', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 2, burst: 3, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 3; i++) await b.take();
    expect(time.sleeps).toEqual([]);
  });

  it('paces takes beyond the burst at 1/qps: the 4th call at 2 qps waits 500 ms', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 2, burst: 3, now: time.now, sleep: time.sleep });
    const grantedAt: number[] = [];
    for (let i = 0; i < 7; i++) {
      await b.take();
      grantedAt.push(time.now());
    }
    expect(grantedAt).toEqual([0, 0, 0, 500, 1000, 1500, 2000]);
  });

  it('never exceeds burst + qps*t in any window, with concurrent takers (property over a long run)', async () => {
    const time = fakeTime();
    const qps = 5;
    const burst = 2;
    const b = new RateBudget({ qps, burst, now: time.now, sleep: time.sleep });
    const grantedAt: number[] = [];
    await Promise.all(
      Array.from({ length: 60 }, async () => {
        await b.take();
        grantedAt.push(time.now());
      }),
    );
    grantedAt.sort((x, y) => x - y);
    for (let i = 0; i < grantedAt.length; i++) {
      for (let j = i; j < grantedAt.length; j++) {
        const window = (grantedAt[j] ?? 0) - (grantedAt[i] ?? 0);
        expect(j - i + 1).toBeLessThanOrEqual(burst + (qps * window) / 1000 + 1e-9);
      }
    }
    expect(grantedAt).toHaveLength(60);
  });

  it('refills with time but never above burst: a long pause does not bank extra calls', async () => {
    const time = fakeTime();
    const b = new RateBudget({ qps: 1, burst: 2, now: time.now, sleep: time.sleep });
    await b.take();
    await b.take();
    time.advance(60_000);
    expect(b.available()).toBe(2);
  });

  it('serves takers in arrival order, so one busy object cannot starve another', async () => {
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
