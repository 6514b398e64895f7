// Polling for eventually-consistent API server behaviour (OpenAPI publishing, discovery, watches): not a timed
// assertion, just a bound on how long to wait before reporting the last failure.

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls `probe` until it resolves without throwing and returns its value. Throws the last error (as `cause`) when
 * `timeoutMs` (default 30 s) passes first.
 */
export async function eventually<T>(probe: () => Promise<T>, opts: EventuallyOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await probe();
    } catch (err: unknown) {
      if (Date.now() > deadline) throw new Error('condition not met before the deadline', { cause: err });
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 250));
  }
}
