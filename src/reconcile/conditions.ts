// kstatus-shaped conditions: Ready always present; Reconciling and Stalled only while True and never together;
// observedGeneration on every condition; lastTransitionTime moves only when a condition's status flips
// (the same contract as apimachinery's meta.SetStatusCondition).
import { type Condition, type ConditionStatus, ConditionType } from '../api/types.ts';

export interface Summary {
  ready: ConditionStatus;
  reason: string;
  message: string;
  /** Abnormal-true condition to add, if any. */
  abnormal?: typeof ConditionType.Reconciling | typeof ConditionType.Stalled;
}

/**
 * Builds the condition list for `summary`, keeping lastTransitionTime from `previous` where the status did not
 * change. The result always has Ready first, then at most one of Reconciling/Stalled.
 */
export function buildConditions(
  previous: readonly Condition[] | undefined,
  summary: Summary,
  generation: number,
  now: Date,
): Condition[] {
  const wanted: Array<Omit<Condition, 'lastTransitionTime'>> = [
    {
      type: ConditionType.Ready,
      status: summary.ready,
      reason: summary.reason,
      message: summary.message,
      observedGeneration: generation,
    },
  ];
  if (summary.abnormal) {
    wanted.push({
      type: summary.abnormal,
      status: 'True',
      reason: summary.reason,
      message: summary.message,
      observedGeneration: generation,
    });
  }
  return wanted.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const keep = before !== undefined && before.status === c.status;
    return { ...c, lastTransitionTime: keep ? before.lastTransitionTime : rfc3339(now) };
  });
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
