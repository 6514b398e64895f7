// The ImageShareSet's statuses, built by the real code (summarizeSet + buildConditions, as the controller writes
// them), judged by Argo CD's own interpreter running docs/argocd/health.lua (gopher-lua) and by the real kstatus
// library. The ImageShare script needs no change for the new kind: it reads only kstatus conditions, the generation
// and spec.suspend, which the set has too. Each row says why.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import type { Condition } from '../../src/api/types.ts';
import type { FleetPlan } from '../../src/fleet/plan.ts';
import { type ChildState, countChildren, SetReason, summarizeSet } from '../../src/fleet/status.ts';
import { buildConditions, type Summary } from '../../src/reconcile/conditions.ts';
import { argoHealthMany, HEALTH_SCRIPT_PATH } from '../harness/argocd-health.ts';
import { kstatusMany } from '../harness/kstatus.ts';

const NOW = new Date('2026-12-01T10:00:00Z');
const cond = (type: Condition['type'], reason: string): Condition => ({
  type,
  status: 'True',
  reason,
  message: `${reason} message`,
  observedGeneration: 1,
  lastTransitionTime: '2026-12-01T09:00:00Z',
});
const synced: ChildState = { name: 'a', conditions: [cond('Ready', 'Synced')] };
const failed: ChildState = {
  name: 'b',
  conditions: [{ ...cond('Ready', 'AccountNotFound'), status: 'False' }, cond('Stalled', 'AccountNotFound')],
};
const pending: ChildState = { name: 'c', conditions: undefined };
const region = { regionId: 'cn-hangzhou', matched: 1, kept: 1 };
const plan = (over: Partial<FleetPlan> = {}) => ({ taken: [], regions: [region], ...over });
const o = { discoveryFailedTerminal: false, intervalText: '3m' };

function setObject(summary: Summary, children: ChildState[], over: { generation?: number; suspend?: boolean } = {}) {
  return {
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShareSet',
    metadata: { name: 'golden', namespace: 'platform', generation: over.generation ?? 1 },
    spec: { selector: { imageFamily: 'golden' }, regions: ['cn-hangzhou'], suspend: over.suspend ?? false },
    status: {
      observedGeneration: 1,
      conditions: buildConditions(undefined, summary, 1, NOW),
      children: countChildren(children),
    },
  };
}

const ROWS: Array<{ why: string; obj: object; argo: string; kstatus: string }> = [
  {
    why: 'every child Ready: Healthy and Current',
    obj: setObject(summarizeSet(plan(), [synced], o), [synced]),
    argo: 'Healthy',
    kstatus: 'Current',
  },
  {
    why: 'children still being reconciled: Progressing and InProgress (Reconciling=True)',
    obj: setObject(summarizeSet(plan(), [synced, pending], o), [synced, pending]),
    argo: 'Progressing',
    kstatus: 'InProgress',
  },
  {
    why: 'a stalled child: Degraded and Failed, so `kubectl wait` and Flux stop waiting',
    obj: setObject(summarizeSet(plan(), [synced, failed], o), [synced, failed]),
    argo: 'Degraded',
    kstatus: 'Failed',
  },
  {
    why: 'nothing matches the selector: Degraded and Failed until a build or a spec change',
    obj: setObject(summarizeSet(plan({ regions: [{ ...region, matched: 0, kept: 0 }] }), [], o), []),
    argo: 'Degraded',
    kstatus: 'Failed',
  },
  {
    why: 'a throttled listing is retried: Progressing and InProgress',
    obj: setObject(summarizeSet(plan({ regions: [{ ...region, error: 'throttled' }] }), [synced], o), [synced]),
    argo: 'Progressing',
    kstatus: 'InProgress',
  },
  {
    why: 'maxChildren reached: Degraded and Failed',
    obj: setObject(summarizeSet(plan({ stop: { reason: 'TooManyChildren', message: 'too many' } }), [synced], o), [
      synced,
    ]),
    argo: 'Degraded',
    kstatus: 'Failed',
  },
  {
    why: 'a suspended set is Suspended in Argo CD; kstatus sees Ready=False and waits, as for a suspended ImageShare',
    obj: setObject({ ready: 'False', reason: SetReason.Suspended, message: 'suspended' }, [synced], { suspend: true }),
    argo: 'Suspended',
    kstatus: 'InProgress',
  },
  {
    why: 'a spec the operator has not seen yet is never Healthy, whatever the old status says',
    obj: setObject(summarizeSet(plan(), [synced], o), [synced], { generation: 2 }),
    argo: 'Progressing',
    kstatus: 'InProgress',
  },
];

describe('ImageShareSet health in Argo CD (gopher-lua) and kstatus', () => {
  let argo: Array<{ status: string }> = [];
  let ks: Array<{ status: string }> = [];
  beforeAll(async () => {
    [argo, ks] = await Promise.all([argoHealthMany(ROWS.map((r) => r.obj)), kstatusMany(ROWS.map((r) => r.obj))]);
  });

  it.each(ROWS.map((r, i) => [r.why, r, i] as const))('%s', (_why, r, i) => {
    expect({ why: r.why, argo: argo[i]?.status, kstatus: ks[i]?.status }).toEqual({
      why: r.why,
      argo: r.argo,
      kstatus: r.kstatus,
    });
  });
});

describe('docs/argocd/argocd-cm.yaml', () => {
  it('registers the same script for ImageShareSet, verbatim', async () => {
    const cm = parse(await readFile(new URL('../../docs/argocd/argocd-cm.yaml', import.meta.url), 'utf8')) as {
      data: Record<string, string>;
    };
    expect(cm.data['resource.customizations.health.ecs.alicloud.dev_ImageShareSet']).toBe(
      await readFile(HEALTH_SCRIPT_PATH, 'utf8'),
    );
  });
});
