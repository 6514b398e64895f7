// The controller loop: the work queue hands keys to the reconciler; the reconciler's answer becomes the key's
// next visit (resync, retry-after, backoff or nothing). One log line per reconcile. No Kubernetes or cloud types
// here: the reconcile function is injected.
import type { ReconcileResult } from '../reconcile/reconcile.ts';
import type { Logger } from './logger.ts';
import { TerminalError } from './terminal-error.ts';
import type { HandlerResult, WorkQueue } from './workqueue.ts';

export interface ControllerOptions {
  queue: WorkQueue;
  reconcile: (namespace: string, name: string) => Promise<ReconcileResult>;
  log: Logger;
  concurrency: number;
}

/** Runs workers until the queue shuts down. */
export function runController(options: ControllerOptions): Promise<void> {
  return options.queue.run((key) => handle(key, options), options.concurrency);
}

async function handle(key: string, { queue, reconcile, log }: ControllerOptions): Promise<HandlerResult> {
  const [namespace = '', name = ''] = key.split('/');
  const started = performance.now();
  let result: ReconcileResult;
  try {
    result = await reconcile(namespace, name);
  } catch (err: unknown) {
    log.warn({ key, result: 'error', durationMs: ms(started), err: describe(err) }, 'reconcile failed; retrying with backoff');
    throw err;
  }
  const { requeue } = result;
  log.info(
    { key, result: result.result, reason: result.reason, durationMs: ms(started), statusWritten: result.statusWritten, cloudWrites: result.cloudWrites, requeue },
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
