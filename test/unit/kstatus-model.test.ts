// What kstatus (Flux health checks, Helm 4 --wait) concludes about each status the operator writes. The model in
// test/harness/kstatus-model.ts is a restatement of kstatus' rules for documentation, NOT Flux: these rows pin the
// expectations docs/flux.md explains, they do not prove Flux's behaviour.
import { describe, expect, it } from '@jest/globals';
import { STATUS_ROWS } from '../fixtures/imageshare-statuses.ts';
import { kstatusModel } from '../harness/kstatus-model.ts';

describe('kstatus expectations for operator-written statuses (model, not Flux)', () => {
  it.each(STATUS_ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect({ why: row.why, status: kstatusModel(row.obj).status }).toEqual({ why: row.why, status: row.kstatus });
  });

  it('puts deletion before everything else (Terminating)', () => {
    const row = STATUS_ROWS.find((r) => r.kstatus === 'Failed');
    if (!row) throw new Error('fixture row missing');
    const obj = structuredClone(row.obj);
    obj.metadata.deletionTimestamp = '2026-11-01T11:00:00Z';
    expect(kstatusModel(obj).status).toBe('Terminating');
  });

  it('never reports Failed while Reconciling=True comes first in the list', () => {
    // kstatus takes the first abnormal-true condition; the operator never writes both, and this pins why it must not.
    const obj = {
      metadata: { generation: 1 },
      status: {
        observedGeneration: 1,
        conditions: [
          { type: 'Reconciling', status: 'True', message: 'a' },
          { type: 'Stalled', status: 'True', message: 'b' },
        ],
      },
    };
    expect(kstatusModel(obj).status).toBe('InProgress');
  });

  it('never writes Reconciling and Stalled together in the fixtures (kstatus order would decide)', () => {
    for (const row of STATUS_ROWS) {
      const abnormal = (row.obj.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.status === 'True');
      expect({ row: row.name, abnormal: abnormal.length <= 1 }).toEqual({ row: row.name, abnormal: true });
    }
  });
});
