// Events fire on transitions only: what a pass changed in the cloud, drift it corrected, and entering an error.
import { ConditionType, type ImageShare, type ImageShareStatus, SharePolicy } from '../api/types.ts';
import type { ObservedImage } from '../cloud/port.ts';
import { findCondition } from './conditions.ts';
import type { ExecutionOutcome } from './execute-plan.ts';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

const list = (ids: string[]) =>
  ids.length <= 10 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more`;

/** Events for the writes a pass made. */
export function writeEvents(outcome: ExecutionOutcome): EventSpec[] {
  const events: EventSpec[] = [];
  if (outcome.unpublished)
    events.push({ type: 'Normal', reason: 'Unpublished', note: 'Unpublished the community image.' });
  if (outcome.revoked.length)
    events.push({
      type: 'Normal',
      reason: 'Revoked',
      note: `Revoked ${outcome.revoked.length} account(s): ${list(outcome.revoked)}.`,
    });
  if (outcome.granted.length)
    events.push({
      type: 'Normal',
      reason: 'Granted',
      note: `Shared with ${outcome.granted.length} account(s): ${list(outcome.granted)}.`,
    });
  if (outcome.published) events.push({ type: 'Normal', reason: 'Published', note: 'Published as a community image.' });
  return events;
}

/**
 * Out-of-band drift: the cloud differs from what this object recorded last time, at the same generation.
 * Authoritative mode corrects it (DriftCorrected); Additive mode reports accounts shared outside the object.
 */
export function driftEvents(obj: ImageShare, before: ObservedImage, outcome: ExecutionOutcome): EventSpec[] {
  const prev = obj.status;
  if (!prev?.sharedAccounts || prev.observedGeneration !== obj.metadata.generation) return [];
  const was = new Set(prev.sharedAccounts);
  const now = before.sharedAccounts.map((a) => a.id);
  const added = now.filter((id) => !was.has(id));
  const removed = [...was].filter((id) => !now.includes(id));
  const flipped = prev.community !== undefined && prev.community !== before.community;
  if (!added.length && !removed.length && !flipped) return [];
  const what = [
    added.length ? `${added.length} account(s) shared out of band (${list(added)})` : '',
    removed.length ? `${removed.length} account(s) unshared out of band (${list(removed)})` : '',
    flipped ? `community flag changed out of band to ${before.community}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const corrected = outcome.granted.length + outcome.revoked.length > 0 || outcome.published || outcome.unpublished;
  if ((obj.spec.sharePolicy ?? SharePolicy.Authoritative) === SharePolicy.Authoritative && corrected) {
    return [{ type: 'Normal', reason: 'DriftCorrected', note: `Corrected drift: ${what}.` }];
  }
  return [{ type: 'Normal', reason: 'DriftDetected', note: `Detected drift: ${what}.` }];
}

/** A Warning when Ready turns False with a new reason (an error state is entered), never on repeats. */
export function transitionEvents(prev: ImageShareStatus | undefined, next: ImageShareStatus): EventSpec[] {
  const before = findCondition(prev?.conditions, ConditionType.Ready);
  const after = findCondition(next.conditions, ConditionType.Ready);
  const abnormal =
    findCondition(next.conditions, ConditionType.Stalled) ?? findCondition(next.conditions, ConditionType.Reconciling);
  if (!after || after.status !== 'False' || !abnormal || abnormal.reason === 'Progressing') return [];
  if (before && before.status === after.status && before.reason === after.reason) return [];
  return [{ type: 'Warning', reason: after.reason, note: after.message }];
}
