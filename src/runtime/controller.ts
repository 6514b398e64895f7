// The controller loop: the work queue hands keys to the reconciler; the reconciler's answer becomes the key's
// next visit (resync, retry-after, backoff or nothing). One log line per reconcile. No Kubernetes or cloud types
// here: the reconcile function is injected.
import type { ReconcileResult } from '../reconcile/reconcile.ts';
import type { Logger } from './logger.ts';
import { TerminalError } from './terminal-error.ts';
import type { HandlerResult, WorkQueue } from './workqueue.ts';

export interface ControllerOptions {
  queue: WorkQueue;
  /**
   * One reconcile pass. `signal` aborts when the runtime cancels in-flight passes (leadership lost, or the graceful
   * shutdown timeout ran out): the pass must then start no further write and end as soon as it can.
   */
  reconcile: (namespace: string, name: string, signal: AbortSignal) => Promise<ReconcileResult>;
  log: Logger;
  concurrency: number;
  /** Aborts every in-flight pass at once. Default: never aborts. */
  signal?: AbortSignal;
}

/** Runs workers until the queue shuts down. */
export function runController(options: ControllerOptions): Promise<void> {
  return options.queue.run((key) => handle(key, options), options.concurrency);
}

const NEVER = new AbortController().signal;

async function handle(
  key: string,
  { queue, reconcile, log, signal = NEVER }: ControllerOptions,
): Promise<HandlerResult> {
  const [namespace = '', name = ''] = key.split('/');
  const started = performance.now();
  let result: ReconcileResult;
  try {
    result = await reconcile(namespace, name, signal);
  } catch (err: unknown) {
    log.warn(
      { key, result: 'error', durationMs: ms(started), err: describe(err) },
      'reconcile failed; retrying with backoff',
    );
    throw err;
  }
  const { requeue } = result;
  log.info(
    {
      key,
      result: result.result,
      reason: result.reason,
      durationMs: ms(started),
      statusWritten: result.statusWritten,
      cloudWrites: result.cloudWrites,
      requeue,
    },
    'reconciled',
  );
  if (requeue.kind === 'backoff') throw new Error(`${key}: ${result.reason}; retrying with backoff`);
  if (requeue.kind === 'none') return undefined;
  if (result.result === 'terminal') {
    // Counted as terminal (no hot retry); the resync still brings it back.
    queue.addAfter(key, requeue.ms);
    throw new TerminalError(`${key}: ${result.reason}`);
  }
  return { requeueAfterMs: Math.max(1, requeue.ms) };
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}

/** Error text for logs: the message and code only, never request bodies or headers. */
function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
