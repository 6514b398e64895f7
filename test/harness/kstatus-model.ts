// DOCUMENTATION OF EXPECTATIONS, NOT FLUX. A small TypeScript restatement of kstatus' Compute for custom resources
// (sigs.k8s.io/cli-utils pkg/kstatus/status generic.go, plus the Ready fallback of the fluxcd/cli-utils fork that
// Flux's kustomize-controller and Helm 4's --wait use). It exists so the unit suite can state, next to the Argo CD
// table, what Flux will conclude about each status the operator writes. Passing tests against it prove only that
// our statuses meet these rules as written here, not that Flux itself agrees; docs/flux.md says the same.

export const KstatusStatus = {
  InProgress: 'InProgress',
  Failed: 'Failed',
  Current: 'Current',
  Terminating: 'Terminating',
} as const;
export type KstatusStatus = (typeof KstatusStatus)[keyof typeof KstatusStatus];

interface ConditionLike {
  type?: unknown;
  status?: unknown;
  message?: unknown;
}
interface ObjectLike {
  metadata?: { generation?: unknown; deletionTimestamp?: unknown };
  status?: { observedGeneration?: unknown; conditions?: unknown };
}

/**
 * The kstatus verdict for a custom resource, in kstatus' order: deletion → generation not observed → the first
 * abnormal-true condition (Reconciling → InProgress, Stalled → Failed) → Ready (True → Current, otherwise
 * InProgress; fluxcd fork only) → Current when nothing is known. Never throws.
 */
export function kstatusModel(obj: object): { status: KstatusStatus; message: string } {
  const o = obj as ObjectLike;
  const conditions = Array.isArray(o.status?.conditions) ? (o.status.conditions as ConditionLike[]) : [];
  return terminating(o) ?? generationBehind(o) ?? firstAbnormal(conditions) ?? readyFallback(conditions);
}

type Verdict = { status: KstatusStatus; message: string };

function terminating(o: ObjectLike): Verdict | undefined {
  const ts = o.metadata?.deletionTimestamp;
  return typeof ts === 'string' && ts !== '' ? { status: KstatusStatus.Terminating, message: 'Resource scheduled for deletion' } : undefined;
}

/** Only when both fields exist: a missing status.observedGeneration skips the check, as in kstatus. */
function generationBehind(o: ObjectLike): Verdict | undefined {
  const generation = o.metadata?.generation;
  const observed = o.status?.observedGeneration;
  if (typeof generation !== 'number' || typeof observed !== 'number' || observed === generation) return undefined;
  return { status: KstatusStatus.InProgress, message: `generation is ${generation}, but latest observed generation is ${observed}` };
}

/** The first abnormal-true condition in list order decides. */
function firstAbnormal(conditions: readonly ConditionLike[]): Verdict | undefined {
  const c = conditions.find((x) => (x.type === 'Reconciling' || x.type === 'Stalled') && x.status === 'True');
  if (c === undefined) return undefined;
  return { status: c.type === 'Stalled' ? KstatusStatus.Failed : KstatusStatus.InProgress, message: String(c.message ?? '') };
}

function readyFallback(conditions: readonly ConditionLike[]): Verdict {
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready === undefined) return { status: KstatusStatus.Current, message: 'Resource is current' };
  return { status: ready.status === 'True' ? KstatusStatus.Current : KstatusStatus.InProgress, message: String(ready.message ?? '') };
}
