// What kstatus concludes about each status the operator writes, computed by the real library
// (sigs.k8s.io/cli-utils/pkg/kstatus/status Compute, through test/tools/kstatus): the rules Flux health checks,
// Helm 4's waiter and cli-utils-based appliers use.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { STATUS_ROWS } from '../fixtures/imageshare-statuses.ts';
import { type KstatusResult, kstatus, kstatusMany } from '../harness/kstatus.ts';

describe('kstatus on operator-written statuses', () => {
  let verdicts: KstatusResult[] = [];
  beforeAll(async () => {
    verdicts = await kstatusMany(STATUS_ROWS.map((r) => r.obj));
  });

  it.each(STATUS_ROWS.map((r, i) => [r.name, r, i] as const))('%s', (_name, r, i) => {
    expect({ why: r.why, status: verdicts[i]?.status }).toEqual({ why: r.why, status: r.kstatus });
  });

  it.each(STATUS_ROWS.map((r) => [r.name, r] as const))('%s, while being deleted, is Terminating', async (_name, r) => {
    // The finalizer keeps the object while the operator revokes shares; kstatus puts deletion before everything.
    const obj = structuredClone(r.obj);
    obj.metadata.deletionTimestamp = '2026-11-01T11:00:00Z';
    expect((await kstatus(obj)).status).toBe('Terminating');
  });

  it('takes the first abnormal condition: Reconciling before Stalled is InProgress', async () => {
    // This is why the operator never writes both: the list order, not severity, would decide.
    const obj = {
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name: 'x', generation: 1 },
      status: {
        observedGeneration: 1,
        conditions: [
          { type: 'Reconciling', status: 'True', reason: 'A', message: 'a' },
          { type: 'Stalled', status: 'True', reason: 'B', message: 'b' },
        ],
      },
    };
    expect((await kstatus(obj)).status).toBe('InProgress');
  });

  it('never writes Reconciling and Stalled together in the fixtures (kstatus order would decide)', () => {
    for (const r of STATUS_ROWS) {
      const abnormal = (r.obj.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.status === 'True');
      expect({ row: r.name, abnormal: abnormal.length <= 1 }).toEqual({ row: r.name, abnormal: true });
    }
  });
});
