// Bounded retries for cloud calls: exponential backoff with full jitter for transient errors, and never sooner than
// the server's retry-after for `wait` errors. Time and randomness are injected so tests need no real clock. Every
// wait ends early when the pass's signal fires, and no wait is longer than capMs: a longer server-named delay ends
// the loop, and the pass comes back after it (the error carries retryAfterMs).
import { CloudError, ErrorKind, markMaybeApplied, outcomeUnknown, PassAborted } from './port.ts';

export interface RetryOptions {
  /** Total tries including the first; at least 1. */
  maxAttempts: number;
  /** Backoff base; the ceiling before jitter for try n (0-based) is min(capMs, baseMs * 2^n). */
  baseMs: number;
  /** The longest single wait between tries. */
  capMs: number;
  /** Waits `ms`; may end early (rejecting or resolving) when `signal` fires. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
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

/** Resolves after `ms`, or rejects with PassAborted as soon as `signal` fires (whatever the injected sleep does). */
export function sleepUnlessAborted(
  sleep: RetryOptions['sleep'],
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) return sleep(ms);
  if (signal.aborted) return Promise.reject(new PassAborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new PassAborted());
    signal.addEventListener('abort', onAbort, { once: true });
    sleep(ms, signal).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(new PassAborted());
        else resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? new PassAborted() : err);
      },
    );
  });
}

/**
 * Runs `attempt` until it resolves, throws a non-retryable error, or `maxAttempts` tries have failed. Resolves with
 * the first success. Throws the first terminal (or non-CloudError) error immediately, the last retryable error once
 * the tries are used up or the server asks for a wait longer than capMs, and PassAborted when `signal` fires during
 * a wait. Once a try ended with its outcome unknown (the request may have reached ECS), every CloudError thrown
 * afterwards is marked maybeApplied, whatever ends the loop: a later refusal or a cancellation cannot unsay it.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  o: RetryOptions,
  signal?: AbortSignal,
): Promise<T> {
  const max = Math.max(1, Math.floor(o.maxAttempts));
  let maybeApplied = false;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err: unknown) {
      maybeApplied ||= err instanceof CloudError && !(err instanceof PassAborted) && outcomeUnknown(err);
      const delayMs = isRetryable(err) && n + 1 < max ? retryDelayMs(err, n, o) : undefined;
      if (delayMs === undefined || delayMs > o.capMs) throw marked(err, maybeApplied);
      o.onRetry?.({ attempt: n, delayMs, error: err as CloudError });
      await sleepUnlessAborted(o.sleep, delayMs, signal).catch((aborted: unknown) => {
        throw marked(aborted, maybeApplied);
      });
    }
  }
}

/** `err`, marked maybeApplied when an earlier try may have reached ECS and `err` alone would not say so. */
function marked(err: unknown, maybeApplied: boolean): unknown {
  return maybeApplied && err instanceof CloudError && !outcomeUnknown(err) ? markMaybeApplied(err) : err;
}
