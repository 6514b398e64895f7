// A deterministic Clock for unit tests: time moves only when a test calls advance(), which fires due timers in
// time order and lets promise callbacks settle between them.
import type { Clock, TimerHandle } from '../../src/runtime/clock.ts';

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  handle: TimerHandle;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: FakeTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = { id: ++this.#seq };
    this.#timers.push({ at: this.#now + Math.max(0, ms), seq: this.#seq, fn, handle });
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.handle !== handle);
  }

  /** Timers not yet fired. */
  pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that comes due, in order, settling promises after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers[0];
      if (next === undefined || next.at > end) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets pending promise chains run to completion (a few macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
