// The ImageShare reconciler's answer in the runtime's terms: a pass result becomes a Result (reconciler.ts), and the
// pass's facts go to the log line.
import type { ReconcileResult } from '../../reconcile/reconcile.ts';
import type { Result } from '../../runtime/reconciler.ts';

export function toResult(r: ReconcileResult): Result {
  const report = {
    result: r.result,
    reason: r.reason,
    statusWritten: r.statusWritten,
    cloudWrites: r.cloudWrites,
    requeue: r.requeue,
  };
  switch (r.requeue.kind) {
    case 'none':
      return { report };
    case 'backoff':
      return { backoff: true, report };
    case 'after':
      // A stalled object is counted as terminal (no hot retry) and still comes back at its resync.
      if (r.result === 'terminal') return { terminal: true, requeueAfterMs: Math.max(1, r.requeue.ms), report };
      return { requeueAfterMs: Math.max(1, r.requeue.ms), report };
  }
}
