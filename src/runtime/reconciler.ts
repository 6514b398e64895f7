// The contract between the runtime and every controller: a Request names one object, the reconciler answers with a
// Result (or throws), and outcomeOf() is the one place that turns that answer into the key's next visit.

/** One object to reconcile. */
export interface Request {
  /** `namespace/name`, the work-queue key. */
  key: string;
  namespace: string;
  name: string;
}

/** What a pass asks of the queue. An empty result means: come back only when an event says something changed. */
export interface Result {
  /** Come back after this many ms (> 0), e.g. the resync interval or a retry delay the cloud asked for. */
  requeueAfterMs?: number;
  /** The pass could not finish and a retry may help: come back after the key's backoff (counted as an error). */
  backoff?: boolean;
  /** Retrying soon will not help (counted as terminal); requeueAfterMs may still schedule a late visit. */
  terminal?: boolean;
  /** Fields for the pass's one log line (never secrets). */
  report?: Record<string, unknown>;
}

/** Reconciles one object. `signal` fires when the runtime cancels in-flight passes (leadership lost, shutdown). */
export type Reconciler = (request: Request, signal: AbortSignal) => Promise<Result>;

/** Thrown by a reconciler to say "retrying will not help": counted, not requeued (controller-runtime's TerminalError). */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function requestOf(key: string): Request {
  const slash = key.indexOf('/');
  return { key, namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export const Outcome = {
  Success: 'success',
  Error: 'error',
  RequeueAfter: 'requeue_after',
  Terminal: 'terminal',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** The key's next visit: none (only an event brings it back), after a delay, or after its backoff. */
export type Next = { kind: 'none' } | { kind: 'after'; ms: number } | { kind: 'backoff' };

/** Maps a pass's result, or what it threw, onto the metric outcome and the key's next visit. Pure. */
export function outcomeOf(settled: { result: Result | undefined } | { thrown: unknown }): {
  outcome: Outcome;
  next: Next;
} {
  if ('thrown' in settled) {
    if (settled.thrown instanceof TerminalError) return { outcome: Outcome.Terminal, next: { kind: 'none' } };
    return { outcome: Outcome.Error, next: { kind: 'backoff' } };
  }
  const r = settled.result ?? {};
  if (r.backoff) return { outcome: Outcome.Error, next: { kind: 'backoff' } };
  const after = r.requeueAfterMs;
  const next: Next = after !== undefined && after > 0 ? { kind: 'after', ms: after } : { kind: 'none' };
  if (r.terminal) return { outcome: Outcome.Terminal, next };
  return { outcome: next.kind === 'after' ? Outcome.RequeueAfter : Outcome.Success, next };
}
