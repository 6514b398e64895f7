// The global safety resync: every `intervalMs` (stretched by up to `jitter`·interval) every known key is
// re-enqueued, spread over a window, so drift on the cloud side (which produces no Kubernetes event) is caught even
// for objects whose own requeueAfter was lost, e.g. across a leader change. Per-object resync intervals are the
// reconciler's job: it returns `{ requeueAfterMs }` from the handler.
import { type Clock, realClock, type TimerHandle } from './clock.ts';

export interface ResyncTarget {
  addAfter(key: string, ms: number): void;
}

export interface ResyncOptions {
  /** Every key the informer knows, read fresh on each round. */
  keys: () => Iterable<string>;
  queue: ResyncTarget;
  /** Base period between rounds, > 0. */
  intervalMs: number;
  /** Each round waits intervalMs·(1 + jitter·random()). Default 0.1. */
  jitter?: number;
  /**
   * Keys of one round are enqueued at uniform random offsets in [0, spreadMs). Default interval/10: the daily round
   * of 10,000 keys is a trickle over 2.4 h, not a herd in one minute (issue 19).
   */
  spreadMs?: number;
  clock?: Clock;
  random?: () => number;
}

/** Starts the resync loop and returns a function that stops it. Throws RangeError for a non-positive interval. */
export function startResync(options: ResyncOptions): () => void {
  const { keys, queue, intervalMs } = options;
  if (!(intervalMs > 0)) throw new RangeError(`resync interval must be > 0, got ${intervalMs}`);
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? 0.1;
  const spreadMs = options.spreadMs ?? intervalMs / 10;
  let timer: TimerHandle | undefined;
  let stopped = false;

  const round = (): void => {
    if (stopped) return;
    for (const key of keys()) queue.addAfter(key, Math.floor(random() * spreadMs));
    schedule();
  };
  const schedule = (): void => {
    timer = clock.setTimer(round, intervalMs * (1 + jitter * random()));
  };
  schedule();
  return () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimer(timer);
  };
}
