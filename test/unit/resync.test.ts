import { describe, expect, it } from '@jest/globals';
import { startResync } from '../../src/runtime/resync.ts';
import { FakeClock } from './fake-clock.ts';

describe('startResync: the global safety resync', () => {
  it('re-enqueues every known key each interval (stretched by jitter), spread over the window, until stopped', async () => {
    const clock = new FakeClock();
    const adds: Array<[string, number]> = [];
    let known = ['ns/a', 'ns/b'];
    const stop = startResync({
      keys: () => known,
      queue: { addAfter: (k, ms) => adds.push([k, ms]) },
      intervalMs: 60_000,
      jitter: 0.5,
      spreadMs: 1_000,
      clock,
      random: () => 0.5,
    });
    await clock.advance(74_999); // 60 s · (1 + 0.5·0.5) = 75 s
    expect(adds).toEqual([]);
    await clock.advance(1);
    expect(adds).toEqual([
      ['ns/a', 500],
      ['ns/b', 500],
    ]);
    known = ['ns/c']; // keys are read fresh each round: deleted objects drop out
    await clock.advance(75_000);
    expect(adds.slice(2)).toEqual([['ns/c', 500]]);
    stop();
    await clock.advance(1_000_000);
    expect(adds).toHaveLength(3);
    expect(clock.pending()).toBe(0);
  });

  it('rejects a non-positive interval', () => {
    expect(() => startResync({ keys: () => [], queue: { addAfter: () => undefined }, intervalMs: 0 })).toThrow(
      RangeError,
    );
  });
});
