// Waiting for ImageShares the way a user would watch them: `kubectl get ishare` (printer columns) printed whenever
// the table changes, until a condition over the objects holds or the wait runs out.
import type { Condition, ImageShare } from '../../src/api/types.ts';
import type { KubeCli } from '../harness/kube-cli.ts';
import type { Progress } from './progress.ts';

export interface WatchDeps {
  kube: KubeCli;
  progress: Progress;
  namespace: string;
  timeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** `done` when the wait is over; otherwise `pending` says, one entry per object, what is still awaited. */
export interface WatchVerdict {
  done: boolean;
  pending: string[];
}

const POLL_MS = 1_000;

/**
 * Polls the namespace's ImageShares until `check` says done, printing the `kubectl get ishare` table each time it
 * changes (the Age column is ignored, or it would change every second). Returns the objects as last seen.
 * Throws when `timeoutMs` passes first, naming what was still pending, or when kubectl fails.
 */
export async function watchImageShares(
  deps: WatchDeps,
  what: string,
  check: (items: ImageShare[]) => WatchVerdict,
): Promise<ImageShare[]> {
  const deadline = deps.now() + deps.timeoutMs;
  let lastTable = '';
  for (;;) {
    // The objects first, then the table: the table printed last is then at least as new as the state judged, so
    // the state that ended the wait is always on screen.
    const items = await listImageShares(deps.kube, deps.namespace);
    const verdict = check(items);
    const table = (await deps.kube.run(['get', 'ishare', '-n', deps.namespace])).stdout;
    if (withoutAge(table) !== lastTable) {
      lastTable = withoutAge(table);
      deps.progress.info(`$ kubectl get ishare -n ${deps.namespace}   (${deps.progress.elapsed()})`);
      deps.progress.block(table);
    }
    if (verdict.done) return items;
    if (deps.now() > deadline) {
      throw new Error(
        `timed out after ${deps.timeoutMs / 1000} s waiting for ${what}; still waiting on:\n  ${verdict.pending.join('\n  ')}`,
      );
    }
    await deps.sleep(POLL_MS);
  }
}

/** Every ImageShare in `namespace`. Throws when kubectl fails. */
export async function listImageShares(kube: KubeCli, namespace: string): Promise<ImageShare[]> {
  const { stdout } = await kube.run(['get', 'imageshares', '-n', namespace, '-o', 'json']);
  return (JSON.parse(stdout) as { items: ImageShare[] }).items;
}

/** The table with each line's last column (Age) removed. */
export function withoutAge(table: string): string {
  return table
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/\s+\S+\s*$/, ''))
    .join('\n');
}

export function condition(o: ImageShare, type: Condition['type']): Condition | undefined {
  return o.status?.conditions?.find((c) => c.type === type);
}

const RESTING_REASONS = new Set(['PlanPending', 'PlanInSync', 'Suspended']);

/**
 * True when the operator has finished with the object's current generation: Ready=True, Stalled=True, or a
 * resting Plan/Suspended state. Reconciling (work in flight, transient retries) is not settled.
 */
export function isSettled(o: ImageShare): boolean {
  if (o.status?.observedGeneration !== o.metadata.generation) return false;
  const ready = condition(o, 'Ready');
  if (ready === undefined) return false;
  if (ready.status === 'True' || condition(o, 'Stalled')?.status === 'True') return true;
  return RESTING_REASONS.has(ready.reason);
}

/** One line for a pending list: name, Ready status and reason, message. */
export function describeReady(o: ImageShare): string {
  const ready = condition(o, 'Ready');
  if (ready === undefined) return `${o.metadata.name}: no Ready condition yet`;
  const gen = `generation ${o.status?.observedGeneration ?? '-'}/${o.metadata.generation ?? '-'}`;
  return `${o.metadata.name}: Ready=${ready.status} ${ready.reason} (${ready.message}) at ${gen}`;
}
