// Bounded retries for cloud calls: exponential backoff with full jitter for transient errors, and never sooner than
// the server's retry-after for `wait` errors. Time and randomness are injected so tests need no real clock.
import { CloudError, ErrorKind } from './port.ts';

export interface RetryOptions {
  /** Total tries including the first; at least 1. */
  maxAttempts: number;
  /** Backoff ceiling before jitter for try n (0-based) is min(capMs, baseMs * 2^n). */
  baseMs: number;
  capMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
  /** Called before each wait, with the error that caused it; for logs and metrics. */
  onRetry?: (e: { attempt: number; delayMs: number; error: CloudError }) => void;
}

export const DEFAULT_RETRY = { maxAttempts: 4, baseMs: 200, capMs: 20_000 } as const;

/**
 * The delay before the next try after `error` on try `attempt` (0-based): full jitter, random() * ceiling, raised to
 * the error's retryAfterMs when the server named one, so a wait is never shorter than the server asked for.
 */
export function retryDelayMs(
  error: CloudError,
  attempt: number,
  o: Pick<RetryOptions, 'baseMs' | 'capMs' | 'random'>,
): number {
  const ceiling = Math.min(o.capMs, o.baseMs * 2 ** attempt);
  const jittered = Math.floor(o.random() * ceiling);
  return Math.max(jittered, error.retryAfterMs ?? 0);
}

/** True for errors worth another try: CloudErrors of kind transient or wait. */
export function isRetryable(err: unknown): err is CloudError {
  return err instanceof CloudError && err.kind !== ErrorKind.Terminal;
}

/**
 * Runs `attempt` until it resolves, throws a non-retryable error, or `maxAttempts` tries have failed. Resolves with
 * the first success. Throws the first terminal (or non-CloudError) error immediately, and the last retryable error
 * once the tries are used up; it never throws anything `attempt` did not throw.
 */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const max = Math.max(1, Math.floor(o.maxAttempts));
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err: unknown) {
      if (!isRetryable(err) || n + 1 >= max) throw err;
      const delayMs = retryDelayMs(err, n, o);
      o.onRetry?.({ attempt: n, delayMs, error: err });
      await o.sleep(delayMs);
    }
  }
}
