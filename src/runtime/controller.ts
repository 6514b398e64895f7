// The controller loop: the work queue hands keys to the reconciler, and the queue turns its answer into the key's
// next visit (outcomeOf in reconciler.ts). One log line per pass. No Kubernetes, cloud or domain types here.
import type { Log } from './logger.ts';
import { type Reconciler, type Request, requestOf, type Result } from './reconciler.ts';
import { withRequestSignal } from './request-signal.ts';
import type { WorkQueue } from './workqueue.ts';

export interface ControllerOptions {
  queue: WorkQueue;
  reconcile: Reconciler;
  log: Pick<Log, 'info' | 'warn'>;
  concurrency: number;
  /** Aborts every in-flight pass at once. Default: never aborts. */
  signal?: AbortSignal;
}

const NEVER = new AbortController().signal;

/** Runs workers until the queue shuts down. */
export function runController(options: ControllerOptions): Promise<void> {
  return options.queue.run((key) => handle(requestOf(key), options), options.concurrency);
}

async function handle(request: Request, { reconcile, log, signal = NEVER }: ControllerOptions): Promise<Result> {
  const started = performance.now();
  try {
    // Every apiserver request the pass makes inherits its signal (and a timeout): see request-signal.ts.
    const result = await withRequestSignal(signal, () => reconcile(request, signal));
    log.info({ key: request.key, durationMs: ms(started), ...result.report }, 'reconciled');
    const { report: _report, ...rest } = result;
    return rest;
  } catch (err: unknown) {
    log.warn(
      { key: request.key, result: 'error', durationMs: ms(started), err: describe(err) },
      'reconcile failed; retrying with backoff',
    );
    throw err;
  }
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}

/** Error text for logs: the message and code only, never request bodies or headers. */
function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
