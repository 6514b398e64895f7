// The set's status from one pass (docs/adr/0027): children counted by their own kstatus conditions, and one Ready
// summary in kstatus form that names the first failing child. Pure.
import type { Condition } from '../api/types.ts';
import type { Summary } from '../reconcile/conditions.ts';
import type { FleetPlan } from './plan.ts';
import type { ChildCounts } from './types.ts';

export const SetReason = {
  Synced: 'Synced',
  Progressing: 'Progressing',
  ChildFailed: 'ChildFailed',
  ChildNameTaken: 'ChildNameTaken',
  DiscoveryFailed: 'DiscoveryFailed',
  NoImagesMatched: 'NoImagesMatched',
  TooManyChildren: 'TooManyChildren',
  Suspended: 'Suspended',
  Deleting: 'Deleting',
} as const;
export type SetReason = (typeof SetReason)[keyof typeof SetReason];

/** A child as the summary needs it: its name and its own conditions. */
export interface ChildState {
  name: string;
  conditions: readonly Condition[] | undefined;
}

type Verdict = 'synced' | 'failed' | 'pending';

/** Synced: Ready=True; failed: Stalled=True; everything else (new, reconciling, retrying) is pending. */
export function verdictOf(child: ChildState): Verdict {
  const is = (type: string) => child.conditions?.find((c) => c.type === type)?.status === 'True';
  if (is('Ready')) return 'synced';
  if (is('Stalled')) return 'failed';
  return 'pending';
}

export function countChildren(children: readonly ChildState[]): ChildCounts {
  const counts: ChildCounts = { total: children.length, synced: 0, failed: 0, pending: 0 };
  for (const c of children) counts[verdictOf(c)]++;
  return counts;
}

function why(child: ChildState): string {
  const ready = child.conditions?.find((c) => c.type === 'Ready');
  if (ready === undefined) return `${child.name} (not reconciled yet)`;
  return `${child.name} (${ready.reason}: ${ready.message})`;
}

/**
 * The Ready summary, first match wins: a stop, a name held by someone else, a failed listing, a failed child, no
 * image at all, children still pending, else Synced. `children` are the set's live children after this pass's writes,
 * sorted by name (so "the first failing child" is stable).
 */
export function summarizeSet(
  plan: Pick<FleetPlan, 'stop' | 'taken' | 'regions'>,
  children: readonly ChildState[],
  o: { discoveryFailedTerminal: boolean; intervalText: string },
): Summary {
  if (plan.stop) return { ready: 'False', reason: plan.stop.reason, message: plan.stop.message, abnormal: 'Stalled' };
  const [taken] = plan.taken;
  if (taken !== undefined)
    return {
      ready: 'False',
      reason: SetReason.ChildNameTaken,
      message: `ImageShare ${taken} exists and is not owned by this set, so the set cannot share that image; delete or rename it.`,
      abnormal: 'Stalled',
    };
  const broken = plan.regions.find((r) => r.error !== undefined);
  if (broken !== undefined)
    return {
      ready: 'False',
      reason: SetReason.DiscoveryFailed,
      message: `Listing the images in ${broken.regionId} failed (${broken.error}); that region's children are left as they are until a listing succeeds.`,
      abnormal: o.discoveryFailedTerminal ? 'Stalled' : 'Reconciling',
    };
  const failed = children.find((c) => verdictOf(c) === 'failed');
  if (failed !== undefined)
    return { ready: 'False', reason: SetReason.ChildFailed, message: `Child ${why(failed)}.`, abnormal: 'Stalled' };
  if (children.length === 0 && plan.regions.every((r) => r.matched === 0)) {
    const regions = plan.regions.map((r) => r.regionId).join(', ');
    return {
      ready: 'False',
      reason: SetReason.NoImagesMatched,
      message: `No Available image of these credentials matches the selector in ${regions}; discovery looks again every ${o.intervalText}.`,
      abnormal: 'Stalled',
    };
  }
  const pending = children.filter((c) => verdictOf(c) === 'pending');
  const [first] = pending;
  if (first !== undefined)
    return {
      ready: 'False',
      reason: SetReason.Progressing,
      message: `${pending.length} of ${children.length} children are not Ready yet; the first is ${why(first)}.`,
      abnormal: 'Reconciling',
    };
  const regionCount = new Set(plan.regions.map((r) => r.regionId)).size;
  return {
    ready: 'True',
    reason: SetReason.Synced,
    message: `${children.length} children share the kept builds in ${regionCount} regions.`,
  };
}
