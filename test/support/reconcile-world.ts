// The world the reconcile unit tests share: a FakeStore, a FakeCloud holding one image, recorded events, Secrets for
// readSecretCredentials, and one fake clock behind deps.now, the cloud's timestamps and the pass-deadline timer.
// Tests override deps fields per file; WorldOptions covers what a file sets up before deps exist.
import type { ImageRef } from '../../src/cloud/port.ts';
import type { EventSpec } from '../../src/reconcile/events.ts';
import type { ReconcileDeps } from '../../src/reconcile/reconcile.ts';
import { FakeCloud } from './fake-cloud.ts';
import { FakeStore } from './fake-store.ts';

export const REF: ImageRef = { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' };
export const T0 = Date.parse('2026-11-28T12:00:00Z');

export interface StaticKey {
  accessKeyId: string;
  accessKeySecret: string;
}

export interface WorldOptions {
  /** Where the fake clock starts (default T0). */
  start?: number;
  /** The images the cloud holds at the start (default [REF], unshared); [] for rows that add their own. */
  images?: ImageRef[];
  /** The store behind deps.store (default a new FakeStore), e.g. a subclass whose cache lags. */
  store?: FakeStore;
  /** false: the cloud stamps SharedTime from its own counter (2026-01-01T00:00:01Z, …), not the fake clock. */
  cloudOnClock?: boolean;
}

export interface ReconcileWorld {
  store: FakeStore;
  cloud: FakeCloud;
  events: EventSpec[];
  /** The Secrets readSecretCredentials finds, by "namespace/name"; a missing one is "Secret ns/name was not found.". */
  secrets: Map<string, StaticKey>;
  deps: ReconcileDeps;
  /** The fake clock's time in ms since the epoch. */
  now(): number;
  /** Moves the fake clock forward, firing the timers (the pass deadline) that come due. */
  advance(ms: number): void;
}

export function reconcileWorld(overrides: Partial<ReconcileDeps> = {}, options: WorldOptions = {}): ReconcileWorld {
  const store = options.store ?? new FakeStore();
  const cloud = new FakeCloud();
  const events: EventSpec[] = [];
  const secrets = new Map<string, StaticKey>();
  let clockMs = options.start ?? T0;
  let timers: { at: number; fn: () => void }[] = [];
  if (options.cloudOnClock !== false) cloud.now = () => clockMs;
  for (const ref of options.images ?? [REF]) cloud.addImage(ref);
  const deps: ReconcileDeps = {
    store,
    cloud,
    emit: (_o, e) => events.push(e),
    now: () => new Date(clockMs),
    random: () => 0,
    defaultResyncMs: 600_000,
    readSecretCredentials: async (ns, name) => {
      const s = secrets.get(`${ns}/${name}`);
      return s
        ? { ok: true, credentials: { type: 'static', ...s } }
        : { ok: false, message: `Secret ${ns}/${name} was not found.` };
    },
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
    secrets,
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
