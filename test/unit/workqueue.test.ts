import { describe, expect, it } from '@jest/globals';
import { CallPriority, currentCallPriority } from '../../src/runtime/call-priority.ts';
import { cloudControllerRateLimiter, defaultControllerRateLimiter } from '../../src/runtime/rate-limiter.ts';
import { type Result, TerminalError } from '../../src/runtime/reconciler.ts';
import { type ReconcileObservation, WorkQueue } from '../../src/runtime/workqueue.ts';
import { FakeClock, settle } from './fake-clock.ts';

function newQueue(opts: { qps?: number; burst?: number; onReconcile?: (o: ReconcileObservation) => void } = {}) {
  const clock = new FakeClock();
  const rateLimiter = defaultControllerRateLimiter(clock, {
    jitter: false,
    qps: opts.qps ?? 10,
    burst: opts.burst ?? 100,
    maxDelayMs: 1_000,
  });
  const queue = new WorkQueue({ clock, rateLimiter, ...(opts.onReconcile ? { onReconcile: opts.onReconcile } : {}) });
  return { clock, queue };
}

/** A handler whose calls stay in flight until the test releases them. */
function gatedHandler() {
  const inFlight = new Map<string, (r?: Result) => void>();
  const failing = new Map<string, (e: unknown) => void>();
  const calls: string[] = [];
  let maxConcurrent = 0;
  const handler = (key: string) =>
    new Promise<Result | undefined>((resolve, reject) => {
      calls.push(key);
      inFlight.set(key, resolve);
      failing.set(key, reject);
      maxConcurrent = Math.max(maxConcurrent, inFlight.size);
    });
  const finish = (key: string, r?: Result) => {
    const done = inFlight.get(key);
    if (done === undefined) throw new Error(`${key} is not in flight`);
    inFlight.delete(key);
    failing.delete(key);
    done(r);
  };
  const fail = (key: string, err: unknown) => {
    const f = failing.get(key);
    if (f === undefined) throw new Error(`${key} is not in flight`);
    inFlight.delete(key);
    failing.delete(key);
    f(err);
  };
  return { handler, finish, fail, calls, inFlight, maxConcurrent: () => maxConcurrent };
}

describe('WorkQueue: queue semantics', () => {
  it('dedupes a key added many times while it waits: it is processed once', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe('ns/a');
    expect(await queue.get()).toBe('ns/b');
    expect(queue.len()).toBe(0);
  });

  it('never hands a key being processed to a second worker; an add during processing requeues it after done', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    const first = await queue.get();
    queue.add('ns/a');
    queue.add('ns/a');
    expect(queue.len()).toBe(0); // held back while processing
    queue.done(first as string);
    expect(queue.len()).toBe(1); // exactly once more, not twice
    expect(await queue.get()).toBe('ns/a');
    queue.done('ns/a');
    expect(queue.len()).toBe(0);
  });

  it('wake() during a pass never cuts short the delay the pass chose; add() (new input) does', async () => {
    const { clock, queue } = newQueue();
    const h = gatedHandler();
    const running = queue.run(h.handler, 1);
    queue.add('ns/a');
    await settle();
    queue.wake('ns/a'); // the echo of the pass's own finalizer patch arrives while it runs
    h.finish('ns/a', { requeueAfterMs: 30_000 });
    await settle();
    queue.wake('ns/a'); // a late echo, after the pass chose its delay
    await clock.advance(29_999);
    expect(h.calls).toEqual(['ns/a']);
    await clock.advance(1);
    expect(h.calls).toEqual(['ns/a', 'ns/a']);
    queue.add('ns/a'); // a spec change during the second pass: it runs again right after
    h.finish('ns/a', { requeueAfterMs: 30_000 });
    await settle();
    expect(h.calls).toEqual(['ns/a', 'ns/a', 'ns/a']);
    h.finish('ns/a');
    queue.shutdown();
    await running;
  });

  it('wake() queues an idle key (nothing scheduled) as background work', async () => {
    const { queue } = newQueue();
    queue.wake('ns/a');
    expect(queue.lenByPriority()).toEqual({ urgent: 0, background: 1 });
    queue.add('ns/b', CallPriority.Background);
    queue.add('ns/c');
    expect(queue.lenByPriority()).toEqual({ urgent: 1, background: 2 });
    expect(await queue.get()).toBe('ns/c');
  });

  it('is FIFO across keys so no key starves', async () => {
    const { queue } = newQueue();
    for (const k of ['c', 'a', 'b']) queue.add(k);
    const order = [await queue.get(), await queue.get(), await queue.get()];
    expect(order).toEqual(['c', 'a', 'b']);
  });

  it('a waiting get() receives the next added key', async () => {
    const { queue } = newQueue();
    const pending = queue.get();
    queue.add('ns/late');
    expect(await pending).toBe('ns/late');
    expect(queue.inFlight()).toBe(1);
  });
});

describe('WorkQueue: addAfter', () => {
  const rows: Array<{ why: string; delays: number[]; readyAt: number }> = [
    { why: 'a later request does not postpone an earlier one', delays: [100, 1_000], readyAt: 100 },
    { why: 'an earlier request pulls a later one forward', delays: [1_000, 100], readyAt: 100 },
    { why: 'a single request fires at its time', delays: [250], readyAt: 250 },
  ];
  it.each(rows)('$why', async ({ delays, readyAt }) => {
    const { clock, queue } = newQueue();
    for (const d of delays) queue.addAfter('ns/a', d);
    await clock.advance(readyAt - 1);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe('ns/a');
    queue.done('ns/a');
    await clock.advance(5_000);
    expect(queue.len()).toBe(0); // the superseded timer never fires a second add
    expect(queue.delayed()).toBe(0);
  });

  it('addAfter with a non-positive delay adds at once', () => {
    const { queue } = newQueue();
    queue.addAfter('ns/a', 0);
    expect(queue.len()).toBe(1);
  });
});

describe('rate limiter: per-key exponential backoff max-of a global token bucket', () => {
  it('doubles per failure from 5 ms, caps, and forget() starts over', () => {
    const clock = new FakeClock();
    const rl = defaultControllerRateLimiter(clock, { jitter: false, maxDelayMs: 100 });
    const delays = Array.from({ length: 7 }, () => rl.when('ns/a'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 100, 100]);
    expect(rl.retries('ns/a')).toBe(7);
    expect(rl.when('ns/b')).toBe(5); // per key: b is unaffected by a's failures
    rl.forget('ns/a');
    expect(rl.retries('ns/a')).toBe(0);
    expect(rl.when('ns/a')).toBe(5);
  });

  it('full jitter draws the per-key delay from [0, exponential]', () => {
    const clock = new FakeClock();
    const rl = defaultControllerRateLimiter(clock, { random: () => 0.5, maxDelayMs: 1_000 });
    expect([rl.when('k'), rl.when('k'), rl.when('k')]).toEqual([2, 5, 10]);
  });

  it('the global bucket throttles many distinct keys once the burst is spent', async () => {
    const clock = new FakeClock();
    const rl = defaultControllerRateLimiter(clock, { jitter: false, qps: 2, burst: 3 });
    const delays = ['a', 'b', 'c', 'd', 'e'].map((k) => rl.when(k));
    // 3 burst tokens are free (per-key 5 ms dominates), then debt accrues at 500 ms per token.
    expect(delays).toEqual([5, 5, 5, 500, 1_000]);
    await clock.advance(10_000); // the bucket refills, up to the burst
    expect(rl.when('f')).toBe(5);
  });

  it('rejects nonsensical settings', () => {
    expect(() => defaultControllerRateLimiter(new FakeClock(), { qps: 0 })).toThrow(RangeError);
  });

  it.each([
    {
      why: 'a zero jitter draw still waits 1 s: a failed cloud call is never retried hot',
      random: 0,
      delays: [1_000, 1_000, 1_000, 1_000],
    },
    { why: 'the ceiling doubles from 1 s', random: 0.999, delays: [1_000, 1_998, 3_996, 7_992] },
  ])('the cloud limiter: $why', ({ random, delays }) => {
    const rl = cloudControllerRateLimiter(new FakeClock(), () => random);
    expect(Array.from({ length: 4 }, () => rl.when('k'))).toEqual(delays);
  });

  it('the cloud limiter caps at 60 s', () => {
    const rl = cloudControllerRateLimiter(new FakeClock(), () => 0.999);
    const delays = Array.from({ length: 12 }, () => rl.when('k'));
    expect(Math.max(...delays)).toBeLessThanOrEqual(60_000);
    expect(delays.at(-1)).toBe(59_940);
  });

  it('the WorkQueue default limiter is the cloud one: the first retry of a failure waits >= 1 s', async () => {
    const clock = new FakeClock();
    const seen: ReconcileObservation[] = [];
    const queue = new WorkQueue({ clock, onReconcile: (o) => seen.push(o) });
    const running = queue.run(async () => {
      throw new Error('ECS unavailable');
    }, 1);
    queue.add('ns/a');
    await settle();
    expect(seen[0]?.requeueInMs).toBeGreaterThanOrEqual(1_000);
    queue.shutdown();
    await running;
  });
});

describe('WorkQueue: call priority of a run', () => {
  it.each([
    {
      why: 'an event (add) is a change someone waits for',
      enqueue: (q: WorkQueue) => q.add('ns/a'),
      priorities: [CallPriority.Urgent],
    },
    {
      why: 'a timer (resync or retry) is background work',
      enqueue: (q: WorkQueue) => q.addAfter('ns/a', 1_000),
      priorities: [CallPriority.Background],
    },
    {
      why: 'an event while the resync timer waits runs urgent at once; the timer still brings its own background run',
      enqueue: (q: WorkQueue) => {
        q.addAfter('ns/a', 500);
        q.add('ns/a');
      },
      priorities: [CallPriority.Urgent, CallPriority.Background],
    },
  ])('$why', async ({ enqueue, priorities }) => {
    const { clock, queue } = newQueue();
    const seen: string[] = [];
    const running = queue.run(async () => {
      await Promise.resolve(); // the context must survive awaits inside the handler
      seen.push(currentCallPriority());
    }, 1);
    enqueue(queue);
    await clock.advance(2_000);
    expect(seen).toEqual(priorities);
    queue.shutdown();
    await running;
  });

  it.each([
    {
      why: 'a change is handed out before resyncs that were queued earlier, so it never waits behind a backlog',
      events: ['ns/u'],
      order: ['ns/u', 'ns/b1', 'ns/b2'],
    },
    {
      why: 'an event for a key waiting as background moves it ahead of the other background keys',
      events: ['ns/b2'],
      order: ['ns/b2', 'ns/b1'],
    },
  ])('urgent before background: $why', async ({ events, order }) => {
    const { clock, queue } = newQueue();
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const running = queue.run(async (key) => {
      if (key === 'ns/busy') await new Promise<void>((r) => (release = r));
      else seen.push(key);
    }, 1);
    queue.add('ns/busy'); // occupies the only worker
    queue.addAfter('ns/b1', 100);
    queue.addAfter('ns/b2', 150);
    await clock.advance(200); // both resync keys are ready and wait for the worker
    for (const k of events) queue.add(k);
    release();
    await clock.advance(10);
    expect(seen).toEqual(order);
    queue.shutdown();
    await running;
  });

  it('an event for a key that a timer already queued (waiting for a worker) makes that one run urgent', async () => {
    const { clock, queue } = newQueue();
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const running = queue.run(async (key) => {
      seen.push(`${key}:${currentCallPriority()}`);
      if (key === 'ns/busy') await new Promise<void>((r) => (release = r));
    }, 1);
    queue.add('ns/busy'); // occupies the only worker
    queue.addAfter('ns/a', 100);
    await clock.advance(200); // ns/a is queued by its timer, waiting for the worker
    queue.add('ns/a'); // deduplicated into the waiting entry, but upgrades it
    release();
    await clock.advance(10);
    expect(seen).toEqual(['ns/busy:urgent', 'ns/a:urgent']);
    queue.shutdown();
    await running;
  });
});

describe('WorkQueue.run: workers and outcomes', () => {
  it('runs at most `concurrency` handlers at once and picks up the next key when one finishes', async () => {
    const { queue } = newQueue();
    const h = gatedHandler();
    const running = queue.run(h.handler, 2);
    for (const k of ['a', 'b', 'c', 'd']) queue.add(k);
    await settle();
    expect([...h.inFlight.keys()]).toEqual(['a', 'b']);
    h.finish('a');
    await settle();
    expect([...h.inFlight.keys()]).toEqual(['b', 'c']);
    h.finish('b');
    h.finish('c');
    await settle();
    h.finish('d');
    await settle();
    expect(h.maxConcurrent()).toBe(2);
    expect(h.calls).toEqual(['a', 'b', 'c', 'd']);
    queue.shutdown();
    await running;
  });

  it('a key re-added during its own reconcile runs again after it, never in parallel', async () => {
    const { queue } = newQueue();
    const h = gatedHandler();
    const running = queue.run(h.handler, 4);
    queue.add('ns/a');
    await settle();
    queue.add('ns/a');
    await settle();
    expect(h.calls).toEqual(['ns/a']); // four idle workers, still one call
    h.finish('ns/a');
    await settle();
    expect(h.calls).toEqual(['ns/a', 'ns/a']);
    h.finish('ns/a');
    queue.shutdown();
    await running;
  });

  type Row = {
    why: string;
    act: (h: ReturnType<typeof gatedHandler>) => void;
    outcome: ReconcileObservation['outcome'];
    /** When the key comes back (ms after the reconcile), or null when it must not. */
    backAfterMs: number | null;
    retries: number;
  };
  const rows: Row[] = [
    {
      why: 'a success forgets the key and does not requeue it',
      act: (h) => h.finish('ns/a'),
      outcome: 'success',
      backAfterMs: null,
      retries: 0,
    },
    {
      why: 'an error is retried after the rate limiter delay (5 ms on the first failure)',
      act: (h) => h.fail('ns/a', new Error('cloud unavailable')),
      outcome: 'error',
      backAfterMs: 5,
      retries: 1,
    },
    {
      why: 'a terminal error is counted but not retried: only a new event or the resync brings it back',
      act: (h) => h.fail('ns/a', new TerminalError('spec must change')),
      outcome: 'terminal',
      backAfterMs: null,
      retries: 0,
    },
    {
      why: 'a pass that asks for backoff without throwing is retried like an error, with no exception in between',
      act: (h) => h.finish('ns/a', { backoff: true }),
      outcome: 'error',
      backAfterMs: 5,
      retries: 1,
    },
    {
      why: 'a terminal result is counted as terminal and still comes back at the late visit it asked for',
      act: (h) => h.finish('ns/a', { terminal: true, requeueAfterMs: 3_600_000 }),
      outcome: 'terminal',
      backAfterMs: 3_600_000,
      retries: 0,
    },
    {
      why: 'requeueAfter schedules the next visit (the resync interval) and resets the backoff',
      act: (h) => h.finish('ns/a', { requeueAfterMs: 60_000 }),
      outcome: 'requeue_after',
      backAfterMs: 60_000,
      retries: 0,
    },
  ];
  it.each(rows)('$why', async ({ act, outcome, backAfterMs, retries }) => {
    const seen: ReconcileObservation[] = [];
    const { clock, queue } = newQueue({ onReconcile: (o) => seen.push(o) });
    const h = gatedHandler();
    const running = queue.run(h.handler, 1);
    queue.add('ns/a');
    await settle();
    act(h);
    await settle();
    expect(seen.map((o) => o.outcome)).toEqual([outcome]);
    expect(queue.numRequeues('ns/a')).toBe(retries);
    if (backAfterMs === null) {
      await clock.advance(10 * 60_000);
      expect(h.calls).toHaveLength(1);
      expect(queue.delayed()).toBe(0);
    } else {
      await clock.advance(backAfterMs - 1);
      expect(h.calls).toHaveLength(1);
      await clock.advance(1);
      expect(h.calls).toHaveLength(2);
      h.finish('ns/a');
    }
    queue.shutdown();
    await running;
  });

  it('repeated failures back off exponentially and a success forgets the history', async () => {
    const seen: ReconcileObservation[] = [];
    const { clock, queue } = newQueue({ onReconcile: (o) => seen.push(o) });
    let failuresLeft = 4;
    const running = queue.run(async () => {
      if (failuresLeft-- > 0) throw new Error('transient');
    }, 1);
    queue.add('ns/a');
    await clock.advance(1_000);
    expect(seen.map((o) => o.requeueInMs)).toEqual([5, 10, 20, 40, undefined]);
    expect(seen.at(-1)?.outcome).toBe('success');
    expect(queue.numRequeues('ns/a')).toBe(0);
    queue.shutdown();
    await running;
  });

  it('rejects a concurrency that is not a positive integer', async () => {
    const { queue } = newQueue();
    await expect(queue.run(async () => undefined, 0)).rejects.toThrow(RangeError);
  });
});

describe('WorkQueue: shutdown and drain', () => {
  it('shutdown stops handing out work, drops delayed keys and ignores new adds', async () => {
    const { clock, queue } = newQueue();
    const waiting = queue.get();
    queue.addAfter('ns/later', 1_000);
    queue.shutdown();
    expect(await waiting).toBeUndefined();
    queue.add('ns/new');
    await clock.advance(2_000);
    expect(queue.len()).toBe(0);
    expect(queue.delayed()).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });

  it('drain waits for in-flight reconciles to finish, and workers exit', async () => {
    const { queue } = newQueue();
    const h = gatedHandler();
    const running = queue.run(h.handler, 2);
    queue.add('a');
    queue.add('b');
    queue.add('c');
    await settle();
    let drained: boolean | undefined;
    void queue.drain(30_000).then((d) => {
      drained = d;
    });
    await settle();
    expect(drained).toBeUndefined(); // a and b still running
    h.finish('a');
    await settle();
    expect(drained).toBeUndefined();
    expect(h.calls).toEqual(['a', 'b']); // c is not started after shutdown
    h.finish('b');
    await settle();
    expect(drained).toBe(true);
    await running;
  });

  it('drain gives up after its timeout while a reconcile hangs', async () => {
    const { clock, queue } = newQueue();
    const h = gatedHandler();
    void queue.run(h.handler, 1);
    queue.add('stuck');
    await settle();
    let drained: boolean | undefined;
    void queue.drain(25_000).then((d) => {
      drained = d;
    });
    await clock.advance(24_999);
    expect(drained).toBeUndefined();
    await clock.advance(1);
    expect(drained).toBe(false);
  });

  it('drain on an idle queue resolves true at once', async () => {
    const { queue } = newQueue();
    expect(await queue.drain(1)).toBe(true);
  });
});

describe('WorkQueue delays: one timer for every delayed key (issue 19, rest is rest)', () => {
  it('10,000 delayed keys hold one timer, and each comes back once, at its own time, in due order', async () => {
    const { clock, queue } = newQueue();
    // Due times spread over 10 s in a scrambled order; one key is asked again later (the earlier time wins).
    for (let i = 0; i < 10_000; i++) queue.addAfter(`ns/k${i}`, 1 + ((i * 7_919) % 10_000));
    queue.addAfter('ns/k0', 50_000);
    expect(queue.delayed()).toBe(10_000);
    expect(clock.pending()).toBe(1);
    const seen: string[] = [];
    const taking = (async () => {
      for (;;) {
        const key = await queue.get();
        if (key === undefined) return;
        seen.push(key);
        queue.done(key);
      }
    })();
    await clock.advance(5_000);
    expect(seen.length).toBe(5_000);
    expect(clock.pending()).toBe(1);
    await clock.advance(5_000);
    expect(seen.length).toBe(10_000);
    expect(new Set(seen).size).toBe(10_000);
    const dueOf = (k: string) => 1 + ((Number(k.slice(4)) * 7_919) % 10_000);
    expect(seen.map(dueOf)).toEqual([...seen.map(dueOf)].sort((a, b) => a - b));
    expect(queue.delayed()).toBe(0);
    expect(clock.pending()).toBe(0);
    queue.shutdown();
    await taking;
  });

  it('an earlier time replaces a later one for the same key, which then runs once', async () => {
    const { clock, queue } = newQueue();
    queue.addAfter('ns/a', 10_000);
    queue.addAfter('ns/a', 1_000);
    expect(clock.pending()).toBe(1);
    await clock.advance(1_000);
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe('ns/a');
    queue.done('ns/a');
    await clock.advance(10_000);
    expect(queue.len()).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});
