// The world the reconcile unit tests share: a FakeStore, a FakeCloud holding one image, recorded events, and one fake
// clock behind deps.now, the cloud's timestamps and the pass-deadline timer. Tests override deps fields per file.
import type { ImageRef } from '../../src/cloud/port.ts';
import type { EventSpec } from '../../src/reconcile/events.ts';
import type { ReconcileDeps } from '../../src/reconcile/reconcile.ts';
import { FakeCloud } from './fake-cloud.ts';
import { FakeStore } from './fake-store.ts';

export const REF: ImageRef = { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' };
export const T0 = Date.parse('2026-11-28T12:00:00Z');

export interface ReconcileWorld {
  store: FakeStore;
  cloud: FakeCloud;
  events: EventSpec[];
  deps: ReconcileDeps;
  /** The fake clock's time in ms since the epoch. */
  now(): number;
  /** Moves the fake clock forward, firing the timers (the pass deadline) that come due. */
  advance(ms: number): void;
}

export function reconcileWorld(overrides: Partial<ReconcileDeps> = {}): ReconcileWorld {
  const store = new FakeStore();
  const cloud = new FakeCloud();
  const events: EventSpec[] = [];
  let clockMs = T0;
  let timers: { at: number; fn: () => void }[] = [];
  cloud.now = () => clockMs;
  cloud.addImage(REF);
  const deps: ReconcileDeps = {
    store,
    cloud,
    emit: (_o, e) => events.push(e),
    now: () => new Date(clockMs),
    random: () => 0,
    defaultResyncMs: 600_000,
    readSecretCredentials: async () => ({ ok: false, message: 'unused' }),
    setTimer(fn, ms) {
      const timer = { at: clockMs + ms, fn };
      timers.push(timer);
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
    ...overrides,
  };
  return {
    store,
    cloud,
    events,
    deps,
    now: () => clockMs,
    advance(ms) {
      clockMs += ms;
      const due = timers.filter((t) => t.at <= clockMs);
      timers = timers.filter((t) => t.at > clockMs);
      for (const t of due) t.fn();
    },
  };
}
