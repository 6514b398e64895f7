// What the accountset-in-use controller decides (docs/adr/0033), as pure functions: whether an AccountSet or
// ClusterAccountSet needs the in-use finalizer added or removed, and the status that names its referrers.
import type { AccountSet } from '../../fleet/types.ts';

export const ACCOUNT_SET_IN_USE_FINALIZER = 'ecs.alicloud.dev/accountset-in-use';
/** How many referrers a status message names; the rest are counted. */
export const NAMED_REFERRERS = 5;

export const InUseReason = {
  Referenced: 'Referenced',
  NotReferenced: 'NotReferenced',
  DeletionBlocked: 'DeletionBlocked',
} as const;

export interface InUseCondition {
  type: 'InUse';
  status: 'True' | 'False';
  reason: (typeof InUseReason)[keyof typeof InUseReason];
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export interface AccountSetStatus {
  /** How many watched ImageShares and ImageShareSets reference the set. */
  referrers: number;
  conditions: InUseCondition[];
}

/** An AccountSet or ClusterAccountSet as its cache holds it: metadata as served, and the status this operator writes. */
export type AccountSetObject = AccountSet & {
  metadata: AccountSet['metadata'] & { generation?: number; deletionTimestamp?: string; finalizers?: string[] };
  status?: Partial<AccountSetStatus>;
};

/** 'add', 'remove' or undefined: what the set's finalizers need given its referrers. */
export function finalizerAction(set: AccountSetObject, referrers: number): 'add' | 'remove' | undefined {
  const has = (set.metadata.finalizers ?? []).includes(ACCOUNT_SET_IN_USE_FINALIZER);
  // The apiserver refuses a new finalizer on an object already being deleted: too late to hold it.
  if (referrers > 0 && !has && set.metadata.deletionTimestamp === undefined) return 'add';
  if (referrers === 0 && has) return 'remove';
  return undefined;
}

/** The status naming up to NAMED_REFERRERS referrers (`ImageShare ns/name`, sorted); lastTransitionTime kept. */
export function inUseStatus(set: AccountSetObject, referrers: readonly string[], now: Date): AccountSetStatus {
  const deleting = set.metadata.deletionTimestamp !== undefined;
  const named = referrers.slice(0, NAMED_REFERRERS).join(', ');
  const more = referrers.length > NAMED_REFERRERS ? ` and ${referrers.length - NAMED_REFERRERS} more` : '';
  const base =
    referrers.length === 0
      ? {
          status: 'False' as const,
          reason: InUseReason.NotReferenced,
          message: 'No watched ImageShare or ImageShareSet references this set.',
        }
      : {
          status: 'True' as const,
          reason: deleting ? InUseReason.DeletionBlocked : InUseReason.Referenced,
          message: deleting
            ? `Deletion waits until nothing references this set: referenced by ${named}${more}. Remove it from their spec.accountSetRefs, or delete them.`
            : `Referenced by ${named}${more}; deleting it waits until nothing references it.`,
        };
  const before = set.status?.conditions?.find((c) => c.type === 'InUse');
  const lastTransitionTime =
    before !== undefined && before.status === base.status ? before.lastTransitionTime : now.toISOString();
  const condition: InUseCondition = {
    type: 'InUse',
    ...base,
    observedGeneration: set.metadata.generation ?? 0,
    lastTransitionTime,
  };
  return { referrers: referrers.length, conditions: [condition] };
}

/** True when the cached status already says `next` (field by field: the apiserver re-orders keys). */
export function sameInUseStatus(current: AccountSetObject['status'], next: AccountSetStatus): boolean {
  const [a] = current?.conditions ?? [];
  const [b] = next.conditions;
  if (current?.referrers !== next.referrers || (current?.conditions ?? []).length !== 1 || !a || !b) return false;
  return CONDITION_FIELDS.every((k) => a[k] === b[k]);
}

const CONDITION_FIELDS = [
  'type',
  'status',
  'reason',
  'message',
  'observedGeneration',
  'lastTransitionTime',
] as const satisfies readonly (keyof InUseCondition)[];
