// Per-key retry delays with client-go's default controller semantics: the max of a per-item exponential backoff
// (5 ms·2^failures, capped) and one global token bucket shared by every key (10 qps, burst 100), so a single
// flapping object backs off on its own while a mass failure cannot exceed the global budget.
import type { Clock } from './clock.ts';

export interface RateLimiter {
  /** The delay before `key` may be retried; every call counts as one more failure of `key`. */
  when(key: string): number;
  /** Clears the failure history of `key` (after a success or a terminal outcome). */
  forget(key: string): void;
  /** How many failures `key` has had since it was last forgotten. */
  retries(key: string): number;
}

export interface RateLimiterOptions {
  /** First per-item delay; doubles on every failure. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the per-item delay. Default 1000 s. */
  maxDelayMs?: number;
  /** Global sustained retry rate. Default 10 per second. */
  qps?: number;
  /** Global burst. Default 100. */
  burst?: number;
  /** A number in [0, 1). Full jitter draws each per-item delay uniformly from [0, exponential]. Default Math.random. */
  random?: () => number;
  /** Jitter on the per-item delay. Default true (full jitter); false gives the exact client-go delays. */
  jitter?: boolean;
  /** Floor of the per-item delay after jitter. Default 0. */
  minDelayMs?: number;
}

/**
 * The operator's default: every reconcile talks to ECS, and hammering an external API that just failed helps nobody,
 * so the first retry waits at least 1 s and the delay doubles to a 60 s cap, as Crossplane's managed reconcilers do
 * (jitter spreads each delay over [1 s, 1 s·2^n]). The global bucket is client-go's (10 qps, burst 100).
 */
export function cloudControllerRateLimiter(clock: Clock, random: () => number = Math.random): RateLimiter {
  return defaultControllerRateLimiter(clock, { baseDelayMs: 1_000, minDelayMs: 1_000, maxDelayMs: 60_000, random });
}

/**
 * Builds the default controller rate limiter. With full jitter the per-item delay is uniform in [0, base·2^n]
 * (capped), which spreads a burst of objects failing together; the token bucket still bounds the total rate.
 */
export function defaultControllerRateLimiter(clock: Clock, options: RateLimiterOptions = {}): RateLimiter {
  const baseDelayMs = options.baseDelayMs ?? 5;
  const maxDelayMs = options.maxDelayMs ?? 1_000_000;
  const qps = options.qps ?? 10;
  const burst = options.burst ?? 100;
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? true;
  const minDelayMs = Math.min(options.minDelayMs ?? 0, maxDelayMs);
  if (!(baseDelayMs > 0 && maxDelayMs >= baseDelayMs && qps > 0 && burst >= 1)) {
    throw new RangeError('rate limiter needs baseDelayMs > 0, maxDelayMs >= baseDelayMs, qps > 0, burst >= 1');
  }
  const failures = new Map<string, number>();
  let tokens = burst;
  let last = clock.now();

  const itemDelay = (key: string): number => {
    const n = failures.get(key) ?? 0;
    failures.set(key, n + 1);
    // 2^n overflows to Infinity long after the cap is reached, and Math.min handles Infinity.
    const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** n);
    return Math.max(minDelayMs, jitter ? Math.floor(random() * exp) : exp);
  };
  // A reservation-style bucket: taking a token may drive the balance negative, and the debt is the wait.
  const bucketDelay = (): number => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * qps);
    last = now;
    tokens -= 1;
    return tokens >= 0 ? 0 : Math.ceil((-tokens / qps) * 1000);
  };

  return {
    when: (key) => Math.max(itemDelay(key), bucketDelay()),
    forget: (key) => {
      failures.delete(key);
    },
    retries: (key) => failures.get(key) ?? 0,
  };
}
