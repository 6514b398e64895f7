// The reconciler's way of saying "retrying will not help": the queue counts it and does not requeue the key.
// Like controller-runtime's TerminalError, the key comes back only when an event or the resync enqueues it again.

export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** True for a TerminalError, or anything that declares itself terminal with `terminal === true`. */
export function isTerminalError(err: unknown): boolean {
  if (err instanceof TerminalError) return true;
  return typeof err === 'object' && err !== null && (err as { terminal?: unknown }).terminal === true;
}
