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
  if (typeof o.metadata?.deletionTimestamp === 'string' && o.metadata.deletionTimestamp !== '') {
    return { status: KstatusStatus.Terminating, message: 'Resource scheduled for deletion' };
  }
  const generation = o.metadata?.generation;
  const observed = o.status?.observedGeneration;
  if (typeof generation === 'number' && typeof observed === 'number' && observed !== generation) {
    return { status: KstatusStatus.InProgress, message: `generation is ${generation}, but latest observed generation is ${observed}` };
  }
  const conditions = Array.isArray(o.status?.conditions) ? (o.status.conditions as ConditionLike[]) : [];
  for (const c of conditions) {
    if (c.type === 'Reconciling' && c.status === 'True') return { status: KstatusStatus.InProgress, message: String(c.message ?? '') };
    if (c.type === 'Stalled' && c.status === 'True') return { status: KstatusStatus.Failed, message: String(c.message ?? '') };
  }
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready !== undefined) {
    return { status: ready.status === 'True' ? KstatusStatus.Current : KstatusStatus.InProgress, message: String(ready.message ?? '') };
  }
  return { status: KstatusStatus.Current, message: 'Resource is current' };
}
