// Which cloud calls go first when several wait on one rate budget. The work queue runs each reconcile inside a
// priority context (urgent when something changed: a spec edit, a delete, a manual request; background when the key
// only came back on its own timer: a resync or a retry), and the cloud rate budget reads it, so resync reads never
// hold up the reads and writes of a spec change. The context travels with the async call chain (AsyncLocalStorage),
// so no port signature has to carry it.
import { AsyncLocalStorage } from 'node:async_hooks';

export const CallPriority = {
  /** Work caused by a change a user is waiting for. */
  Urgent: 'urgent',
  /** Periodic work nobody is waiting for: drift checks and retries. */
  Background: 'background',
} as const;
export type CallPriority = (typeof CallPriority)[keyof typeof CallPriority];

const current = new AsyncLocalStorage<CallPriority>();

/** Runs `fn` with `priority` as the current call priority for everything it awaits. */
export function withCallPriority<T>(priority: CallPriority, fn: () => T): T {
  return current.run(priority, fn);
}

/** The priority of the calling async context; urgent outside any context (a CLI run, a test). */
export function currentCallPriority(): CallPriority {
  return current.getStore() ?? CallPriority.Urgent;
}
