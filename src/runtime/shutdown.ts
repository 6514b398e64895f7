// How the operator stops, so that at no moment two processes write (issue #8, ADR 0020).
//
// - SIGTERM (a rollout, a drain): stop taking work, let in-flight passes finish for most of the graceful-shutdown
//   timeout, then abort the ones still running and give them the rest of it to end. The Lease is released only
//   after the last pass ended; if one never ends, the Lease is *not* released (it expires on its own after
//   leaseDuration, by which time this process is gone) and the exit code says so.
// - Leadership lost: stop taking work, abort every in-flight pass and exit non-zero at once, like
//   controller-runtime. The leader gives up after renewDeadline (10 s) while a standby may take over only after
//   leaseDuration (15 s) of seeing no renewal, so exiting at once keeps the old writer gone before the new one starts.

/** The part of the work queue a shutdown needs. */
export interface Drainable {
  /** Stops handing out work, then resolves true once no pass is in flight, or false after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean>;
}

export interface GracefulStopOptions {
  queue: Drainable;
  /** Aborts every in-flight pass (their AbortSignal fires). */
  abortPasses: () => void;
  /** The whole budget, kept below the pod's terminationGracePeriodSeconds. */
  timeoutMs: number;
  /** Hands the Lease back (resolves false when this replica did not hold it); omitted without leader election. */
  releaseLease?: () => Promise<boolean>;
}

export const StopOutcome = {
  /** Every pass ended on its own. */
  Finished: 'finished',
  /** Some passes were aborted, and they all ended. */
  Aborted: 'aborted',
  /** A pass was still running at the deadline: the Lease was left to expire. */
  Abandoned: 'abandoned',
} as const;
export type StopOutcome = (typeof StopOutcome)[keyof typeof StopOutcome];

export interface GracefulStopResult {
  outcome: StopOutcome;
  leaseReleased: boolean;
  /** 0 unless a pass was abandoned. */
  exitCode: 0 | 1;
}

/** The share of the timeout in-flight passes get to finish before they are aborted. */
export const FINISH_SHARE = 0.8;

/**
 * Runs the SIGTERM sequence described above. Never rejects: a failing release counts as not released. Guarantees
 * that releaseLease is called only after the queue reported no pass in flight.
 */
export async function stopGracefully(options: GracefulStopOptions): Promise<GracefulStopResult> {
  const finishMs = Math.floor(options.timeoutMs * FINISH_SHARE);
  let outcome: StopOutcome = StopOutcome.Finished;
  if (!(await options.queue.drain(finishMs))) {
    options.abortPasses();
    outcome = (await options.queue.drain(options.timeoutMs - finishMs)) ? StopOutcome.Aborted : StopOutcome.Abandoned;
  }
  if (outcome === StopOutcome.Abandoned) return { outcome, leaseReleased: false, exitCode: 1 };
  const leaseReleased = options.releaseLease === undefined ? false : await options.releaseLease().catch(() => false);
  return { outcome, leaseReleased, exitCode: 0 };
}

export interface LeadershipLostOptions {
  /** Stops handing out work. */
  stopQueue: () => void;
  abortPasses: () => void;
  /** Ends the process; never returns in production. */
  exit: (code: number) => void;
}

/** What to do the moment leadership is lost: no draining, no waiting, exit code 1. */
export function onLeadershipLost(options: LeadershipLostOptions): void {
  options.stopQueue();
  options.abortPasses();
  options.exit(1);
}
