// A bounded wait for something outside Kubernetes objects (the emulator's share list, events): not a timed
// assertion, just a limit on how long the demo waits before failing with what it last saw.

export interface PollDeps {
  timeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

const POLL_MS = 1_000;

/**
 * Calls `probe` until it returns true. Any other return value is a description of what is still missing, used in
 * the timeout error. Throws when `timeoutMs` passes first, or rethrows what `probe` throws.
 */
export async function pollUntil(deps: PollDeps, what: string, probe: () => Promise<true | string>): Promise<void> {
  const deadline = deps.now() + deps.timeoutMs;
  for (;;) {
    const result = await probe();
    if (result === true) return;
    if (deps.now() > deadline)
      throw new Error(`timed out after ${deps.timeoutMs / 1000} s waiting for ${what}; last seen: ${result}`);
    await deps.sleep(POLL_MS);
  }
}
