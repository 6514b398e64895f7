// When a new leader (or a restarted process) first visits each object. An object whose status says it is settled
// (Ready at its current generation, no write awaiting confirmation, not being deleted) waits a uniformly random part
// of its resync interval, so 10,000 settled objects come back spread over one interval instead of all at once
// (issue 19: no thundering herd after a restart); every other object is visited at once.
import type { ImageShare } from '../api/types.ts';
import { parseDuration } from '../reconcile/duration.ts';

/** Delay in ms before the first pass after a start (0: at once). `random` returns [0, 1). Pure. */
export function restartDelayMs(obj: ImageShare | undefined, defaultResyncMs: number, random: () => number): number {
  if (obj === undefined || !settled(obj)) return 0;
  return Math.floor(random() * resyncMs(obj, defaultResyncMs));
}

/**
 * Whether the object carries an edit or a deletion no pass has seen: a spec newer than the one a pass observed. A new
 * leader takes these first (a user's edit made during a failover). An object no pass has ever seen stays restart
 * work, so thousands of them (a first install) never bury a user's edit. Pure.
 */
export function unobservedInput(obj: ImageShare | undefined): boolean {
  if (obj === undefined) return false;
  const observed = obj.status?.observedGeneration;
  return (
    obj.metadata.deletionTimestamp !== undefined || (observed !== undefined && observed !== obj.metadata.generation)
  );
}

function settled(obj: ImageShare): boolean {
  const { metadata, status } = obj;
  if (metadata.deletionTimestamp !== undefined) return false;
  if ((status?.pendingWrites?.length ?? 0) > 0) return false;
  if (status?.observedGeneration === undefined || status.observedGeneration !== metadata.generation) return false;
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === metadata.generation;
}

function resyncMs(obj: ImageShare, defaultMs: number): number {
  if (!obj.spec.resyncInterval) return defaultMs;
  try {
    return parseDuration(obj.spec.resyncInterval);
  } catch {
    return defaultMs;
  }
}
