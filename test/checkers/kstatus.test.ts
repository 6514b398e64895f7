// What kstatus concludes about each status the operator writes, computed by the real library
// (sigs.k8s.io/cli-utils/pkg/kstatus/status Compute, through test/support/go/kstatus): the rules Flux health checks,
// Helm 4's waiter and cli-utils-based appliers use.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import type { ImageShare } from '../../src/api/types.ts';
import { CloudError } from '../../src/cloud/port.ts';
import { computeStatus } from '../../src/reconcile/compute-status.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { STATUS_ROWS } from '../support/imageshare-statuses.ts';
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

  it('never gets both from the operator: statuses computed by computeStatus, pass after pass, have at most one and kstatus reads each as meant', async () => {
    // Every pass outcome that needs no cloud fixtures, each following every other one (a Stalled object that
    // starts Reconciling must drop Stalled), computed by the operator's own status code.
    const terminal = new CloudError({
      kind: 'terminal',
      reason: Reason.AccessDenied,
      message: 'denied',
      accountSpecific: false,
      code: 'Forbidden',
    });
    const transient = new CloudError({
      kind: 'transient',
      reason: Reason.Throttled,
      message: 'slow down',
      accountSpecific: false,
      code: 'Throttling',
    });
    const passes: PassResult[] = [
      { kind: 'suspended' },
      { kind: 'duplicate', ownerKey: 'platform-images/older' },
      { kind: 'blocked', reason: Reason.CredentialsNotFound, message: 'no Secret', transient: false },
      { kind: 'blocked', reason: Reason.Progressing, message: 'continuing', transient: true },
      { kind: 'observeFailed', error: terminal },
      { kind: 'observeFailed', error: transient },
    ];
    const base = STATUS_ROWS[0]?.obj;
    if (base === undefined) throw new Error('no fixture rows');
    const now = new Date('2026-11-01T10:00:00Z');
    const objs = passes.flatMap((first) =>
      passes.map((second) => {
        const once: ImageShare = { ...base, status: computeStatus(base, first, now) };
        return { ...once, status: computeStatus(once, second, now) };
      }),
    );
    const verdicts = await kstatusMany(objs);
    const seen = objs.map((o, i) => {
      const abnormal = (o.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.status === 'True');
      // Stalled fails; Reconciling, or Ready=False without either (suspended), waits; otherwise Current.
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      const expected =
        abnormal[0]?.type === 'Stalled'
          ? 'Failed'
          : abnormal[0]?.type === 'Reconciling' || ready?.status !== 'True'
            ? 'InProgress'
            : 'Current';
      return { abnormal: abnormal.length <= 1, kstatus: verdicts[i]?.status === expected };
    });
    expect(seen).toEqual(objs.map(() => ({ abnormal: true, kstatus: true })));
  });
});
