// The stop sequences of ADR 0020 over the real WorkQueue on a fake clock: what ends when, and whether the Lease is
// handed back only after the last pass ended.
import { describe, expect, it } from '@jest/globals';
import { onLeadershipLost, StopOutcome, stopGracefully } from '../../src/runtime/shutdown.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { FakeClock, settle } from './fake-clock.ts';

type PassBehaviour = 'finishes-in-5s' | 'ends-on-abort' | 'ignores-abort';

/** One in-flight pass with `behaviour`, a shutdown budget of 10 s, and a timeline of what happened when. */
async function scenario(behaviour: PassBehaviour) {
  const clock = new FakeClock(0);
  const queue = new WorkQueue({ clock });
  const passes = new AbortController();
  const timeline: string[] = [];
  const at = (what: string) => timeline.push(`${clock.now()}ms ${what}`);
  const handler = (): Promise<undefined> =>
    new Promise((resolve) => {
      at('pass started');
      const end = () => {
        at('pass ended');
        resolve(undefined);
      };
      if (behaviour === 'finishes-in-5s') clock.setTimer(end, 5_000);
      if (behaviour === 'ends-on-abort') passes.signal.addEventListener('abort', end);
    });
  const workers = queue.run(handler, 1);
  queue.add('ns/a');
  await settle();
  const result = stopGracefully({
    queue,
    abortPasses: () => {
      at('abort');
      passes.abort();
    },
    timeoutMs: 10_000,
    releaseLease: async () => {
      at('lease released');
      return true;
    },
  });
  await clock.advance(20_000);
  return { result: await result, timeline, workers };
}

describe('stopGracefully (SIGTERM)', () => {
  const rows: Array<{
    why: string;
    behaviour: PassBehaviour;
    outcome: StopOutcome;
    timeline: string[];
    exitCode: number;
  }> = [
    {
      why: 'a pass that ends within the finish share runs to completion, then the Lease is released',
      behaviour: 'finishes-in-5s',
      outcome: StopOutcome.Finished,
      timeline: ['0ms pass started', '5000ms pass ended', '5000ms lease released'],
      exitCode: 0,
    },
    {
      why: 'a long pass is aborted at 80% of the budget and the Lease is released only after it ended',
      behaviour: 'ends-on-abort',
      outcome: StopOutcome.Aborted,
      timeline: ['0ms pass started', '8000ms abort', '8000ms pass ended', '8000ms lease released'],
      exitCode: 0,
    },
    {
      why: 'a pass that does not end even when aborted keeps the Lease unreleased (it expires after the exit), exit 1',
      behaviour: 'ignores-abort',
      outcome: StopOutcome.Abandoned,
      timeline: ['0ms pass started', '8000ms abort'],
      exitCode: 1,
    },
  ];
  it.each(rows)('$why', async ({ behaviour, outcome, timeline, exitCode }) => {
    const r = await scenario(behaviour);
    expect(r.timeline).toEqual(timeline);
    expect(r.result).toEqual({ outcome, leaseReleased: outcome !== StopOutcome.Abandoned, exitCode });
  });

  it('takes no new work once stopping, even keys added during the drain', async () => {
    const clock = new FakeClock(0);
    const queue = new WorkQueue({ clock });
    const seen: string[] = [];
    void queue.run(async (key) => {
      seen.push(key);
      await new Promise<void>((r) => clock.setTimer(r, 1_000));
      return undefined;
    }, 1);
    queue.add('ns/a');
    queue.add('ns/b');
    await settle();
    const done = stopGracefully({ queue, abortPasses: () => undefined, timeoutMs: 10_000 });
    queue.add('ns/c');
    await clock.advance(5_000);
    expect((await done).outcome).toBe(StopOutcome.Finished);
    expect(seen).toEqual(['ns/a']);
  });
});

describe('onLeadershipLost', () => {
  it('stops the queue, aborts in-flight passes and exits 1 without waiting for them', async () => {
    const clock = new FakeClock(0);
    const queue = new WorkQueue({ clock });
    const passes = new AbortController();
    void queue.run(() => new Promise(() => undefined), 1); // a pass that would run forever
    queue.add('ns/a');
    await settle();
    const exits: number[] = [];
    onLeadershipLost({
      stopQueue: () => queue.shutdown(),
      abortPasses: () => passes.abort(),
      exit: (c) => exits.push(c),
    });
    // Why: the standby may take over 5 s after the renew deadline; waiting for the pass would reopen the two-writer window.
    expect([exits, passes.signal.aborted, queue.shuttingDown(), queue.inFlight()]).toEqual([[1], true, true, 1]);
  });
});
