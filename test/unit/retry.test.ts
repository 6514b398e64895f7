import { describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import { CloudError, type ErrorKind, outcomeUnknown, PassAborted } from '../../src/cloud/port.ts';
import { FakeClock } from './fake-clock.ts';
import { retryDelayMs, withRetry } from '../../src/cloud/retry.ts';

function cloudError(kind: ErrorKind, retryAfterMs?: number): CloudError {
  return new CloudError({
    code: kind === 'terminal' ? 'InvalidAccount.NotFound' : 'Throttling.User',
    kind,
    reason: kind === 'terminal' ? Reason.AccountNotFound : Reason.Throttled,
    message: 'x.',
    accountSpecific: false,
    retryAfterMs,
  });
}

/** Records every sleep and never waits. */
function recorder() {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
}

/** An attempt function that throws the given errors in order, then resolves 'done'. */
function failing(errors: unknown[]) {
  let calls = 0;
  const fn = async () => {
    const e = errors[calls++];
    if (e !== undefined) throw e;
    return 'done';
  };
  return { fn, calls: () => calls };
}

const base = { baseMs: 100, capMs: 1000, random: () => 0.5 };

describe('withRetry', () => {
  const retryable: [ErrorKind, string][] = [
    ['transient', 'backoff with jitter, then success'],
    ['wait', 'the server named a delay, then success'],
  ];
  it.each(retryable)('retries %s errors until success (%s)', async (kind) => {
    const r = recorder();
    const f = failing([
      cloudError(kind, kind === 'wait' ? 700 : undefined),
      cloudError(kind, kind === 'wait' ? 700 : undefined),
    ]);
    await expect(withRetry(f.fn, { ...base, maxAttempts: 5, sleep: r.sleep })).resolves.toBe('done');
    expect(f.calls()).toBe(3);
    expect(r.sleeps).toHaveLength(2);
  });

  it('throws a terminal error at once: the spec must change, retrying cannot help', async () => {
    const r = recorder();
    const terminal = cloudError('terminal');
    const f = failing([terminal]);
    await expect(withRetry(f.fn, { ...base, maxAttempts: 5, sleep: r.sleep })).rejects.toBe(terminal);
    expect([f.calls(), r.sleeps.length]).toEqual([1, 0]);
  });

  it('throws a non-CloudError at once: only classified errors carry a retry decision', async () => {
    const f = failing([new TypeError('bug')]);
    await expect(withRetry(f.fn, { ...base, maxAttempts: 5, sleep: recorder().sleep })).rejects.toThrow(TypeError);
    expect(f.calls()).toBe(1);
  });

  it('stops after maxAttempts and throws the last error: the budget of tries is bounded', async () => {
    const errors = [cloudError('transient'), cloudError('transient'), cloudError('transient'), cloudError('transient')];
    const r = recorder();
    const f = failing(errors);
    await expect(withRetry(f.fn, { ...base, maxAttempts: 3, sleep: r.sleep })).rejects.toBe(errors[2]);
    expect([f.calls(), r.sleeps.length]).toEqual([3, 2]);
  });

  it('never waits less than retryAfterMs, even when jitter draws zero', async () => {
    const r = recorder();
    const f = failing([cloudError('wait', 1234), cloudError('wait', 50)]);
    await withRetry(f.fn, { ...base, capMs: 2000, random: () => 0, maxAttempts: 3, sleep: r.sleep });
    expect(r.sleeps).toEqual([1234, 50]);
  });

  it('ends the loop instead of waiting past capMs: a long server-named wait is the next pass, not a blocked worker', async () => {
    const r = recorder();
    const long = cloudError('wait', 5000);
    const f = failing([long]);
    await expect(withRetry(f.fn, { ...base, maxAttempts: 3, sleep: r.sleep })).rejects.toBe(long);
    expect([f.calls(), r.sleeps]).toEqual([1, []]);
  });

  it('reports each retry to onRetry with its delay', async () => {
    const seen: number[] = [];
    const f = failing([cloudError('transient')]);
    await withRetry(f.fn, { ...base, maxAttempts: 2, sleep: recorder().sleep, onRetry: (e) => seen.push(e.delayMs) });
    expect(seen).toEqual([50]);
  });
});

describe('retryDelayMs (full jitter)', () => {
  it.each([
    [0, 0.999, 99, 'try 0: ceiling is baseMs'],
    [1, 0.999, 199, 'try 1: ceiling doubles'],
    [3, 0.5, 400, 'try 3: half of 800'],
    [10, 0.999, 999, 'late tries are capped at capMs'],
    [2, 0, 0, 'full jitter may draw zero when no retry-after is given'],
  ])('attempt %d, random %d → %d ms (%s)', (attempt, rnd, expected) => {
    expect(retryDelayMs(cloudError('transient'), attempt, { ...base, random: () => rnd })).toBe(expected);
  });

  it('takes the larger of jitter and retry-after', () => {
    expect(retryDelayMs(cloudError('wait', 30), 3, { ...base, random: () => 0.5 })).toBe(400);
    expect(retryDelayMs(cloudError('wait', 3000), 3, { ...base, random: () => 0.5 })).toBe(3000);
  });
});

/** A transport failure after the request left: ECS may have applied it. */
const lostAnswer = () =>
  new CloudError({
    code: 'RequestTimeout',
    kind: 'transient',
    reason: Reason.CloudUnreachable,
    message: 'x.',
    accountSpecific: false,
  });

/** Sleeps that wait on a fake clock: nothing ends unless the test advances it or the signal fires. */
function clocked() {
  const clock = new FakeClock(0);
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(resolve, ms));
  return { clock, sleep };
}

describe('withRetry: a write whose answer was lost stays unknown, whatever ends the loop', () => {
  it('lost answer, then throttled: the throttling error comes out marked maybeApplied (not a refusal)', async () => {
    // Why: a 4xx throttling answer alone means "refused"; after a lost answer the first try may have been applied.
    const f = failing([lostAnswer(), cloudError('transient')]);
    const err = await withRetry(f.fn, { ...base, maxAttempts: 2, sleep: recorder().sleep }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect([(err as CloudError).reason, (err as CloudError).maybeApplied, outcomeUnknown(err as CloudError)]).toEqual([
      Reason.Throttled,
      true,
      true,
    ]);
  });

  it('lost answer, then the pass is aborted during the retry wait: PassAborted, promptly, and still unknown', async () => {
    // Why: the deadline or a newer spec firing during the wait used to report the batch as never sent.
    const { clock, sleep } = clocked();
    const ac = new AbortController();
    const f = failing([lostAnswer()]);
    const settled = withRetry(f.fn, { ...base, capMs: 10_000, maxAttempts: 3, sleep }, ac.signal).catch(
      (e: unknown) => e,
    );
    await clock.advance(1); // the first try failed; the loop now waits on the fake clock
    expect(clock.pending()).toBe(1);
    ac.abort();
    const err = await settled; // resolves without the clock moving to the end of the wait
    expect(err).toBeInstanceOf(PassAborted);
    expect([(err as CloudError).maybeApplied, outcomeUnknown(err as CloudError), f.calls()]).toEqual([true, true, 1]);
  });

  it('control: an abort during a wait after a definitive refusal is a plain PassAborted (never sent, not unknown)', async () => {
    const { clock, sleep } = clocked();
    const ac = new AbortController();
    const f = failing([cloudError('transient')]);
    const settled = withRetry(f.fn, { ...base, maxAttempts: 3, sleep }, ac.signal).catch((e: unknown) => e);
    await clock.advance(1);
    ac.abort();
    const err = (await settled) as CloudError;
    expect([err instanceof PassAborted, err.maybeApplied, outcomeUnknown(err)]).toEqual([true, false, false]);
  });
});
