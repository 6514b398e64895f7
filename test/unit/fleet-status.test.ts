// The set's Ready summary (docs/adr/0027): kstatus form, first match wins, the first failing child named. Each row
// says why.
import { describe, expect, it } from '@jest/globals';
import type { Condition } from '../../src/api/types.ts';
import type { FleetPlan } from '../../src/fleet/plan.ts';
import { type ChildState, countChildren, summarizeSet } from '../../src/fleet/status.ts';

const cond = (type: Condition['type'], status: Condition['status'], reason: string, message = ''): Condition => ({
  type,
  status,
  reason,
  message,
  observedGeneration: 1,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});
const synced = (name: string): ChildState => ({ name, conditions: [cond('Ready', 'True', 'Synced')] });
const stalled = (name: string, reason = 'AccountNotFound'): ChildState => ({
  name,
  conditions: [cond('Ready', 'False', reason, 'account 1 does not exist'), cond('Stalled', 'True', reason)],
});
const pending = (name: string): ChildState => ({ name, conditions: undefined });

const region = { regionId: 'cn-hangzhou', matched: 1, kept: 1 };
const plan = (over: Partial<FleetPlan> = {}): Pick<FleetPlan, 'stop' | 'taken' | 'regions'> => ({
  taken: [],
  regions: [region],
  ...over,
});
const o = { discoveryFailedTerminal: false, intervalText: '3m' };

const rows: Array<{
  why: string;
  plan?: Pick<FleetPlan, 'stop' | 'taken' | 'regions'>;
  children: ChildState[];
  terminal?: boolean;
  expect: { ready: string; reason: string; abnormal?: string; mentions?: string };
}> = [
  {
    why: 'every child Ready is the only way the set is Ready',
    children: [synced('a'), synced('b')],
    expect: { ready: 'True', reason: 'Synced' },
  },
  {
    why: 'a stalled child makes the set Stalled and is named, with its own reason and message',
    children: [synced('a'), stalled('b'), stalled('c')],
    expect: { ready: 'False', reason: 'ChildFailed', abnormal: 'Stalled', mentions: 'b (AccountNotFound: account 1' },
  },
  {
    why: 'children not reconciled yet keep the set Reconciling, not failed',
    children: [synced('a'), pending('b')],
    expect: { ready: 'False', reason: 'Progressing', abnormal: 'Reconciling', mentions: '1 of 2' },
  },
  {
    why: 'a failed child outranks pending ones: the user must act on it',
    children: [pending('a'), stalled('b')],
    expect: { ready: 'False', reason: 'ChildFailed', abnormal: 'Stalled' },
  },
  {
    why: 'a selector matching nothing is reported once and waits for the next discovery, not a retry loop',
    plan: plan({ regions: [{ regionId: 'cn-hangzhou', matched: 0, kept: 0 }] }),
    children: [],
    expect: { ready: 'False', reason: 'NoImagesMatched', abnormal: 'Stalled', mentions: 'every 3m' },
  },
  {
    why: 'a transient listing failure is Reconciling: it is retried',
    plan: plan({ regions: [{ ...region, error: 'ECS throttled the call' }] }),
    children: [synced('a')],
    expect: { ready: 'False', reason: 'DiscoveryFailed', abnormal: 'Reconciling', mentions: 'cn-hangzhou' },
  },
  {
    why: 'a terminal listing failure (bad credentials) is Stalled',
    plan: plan({ regions: [{ ...region, error: 'the key is disabled' }] }),
    children: [synced('a')],
    terminal: true,
    expect: { ready: 'False', reason: 'DiscoveryFailed', abnormal: 'Stalled' },
  },
  {
    why: 'maxChildren stops the set before anything else is judged',
    plan: plan({ stop: { reason: 'TooManyChildren', message: 'more than maxChildren 2' } }),
    children: [synced('a')],
    expect: { ready: 'False', reason: 'TooManyChildren', abnormal: 'Stalled' },
  },
  {
    why: 'a name held by a foreign ImageShare is Stalled and named',
    plan: plan({ taken: ['golden-cn-hangzhou-m-a0000001'] }),
    children: [synced('a')],
    expect: {
      ready: 'False',
      reason: 'ChildNameTaken',
      abnormal: 'Stalled',
      mentions: 'golden-cn-hangzhou-m-a0000001',
    },
  },
];

describe('summarizeSet', () => {
  it.each(rows)('$why', (row) => {
    const s = summarizeSet(row.plan ?? plan(), row.children, { ...o, discoveryFailedTerminal: row.terminal ?? false });
    expect({ ready: s.ready, reason: s.reason, abnormal: s.abnormal }).toEqual({
      ready: row.expect.ready,
      reason: row.expect.reason,
      abnormal: row.expect.abnormal,
    });
    if (row.expect.mentions) expect(s.message).toContain(row.expect.mentions);
  });
});

describe('countChildren', () => {
  it('counts Synced (Ready), Failed (Stalled) and Pending (the rest)', () => {
    expect(countChildren([synced('a'), stalled('b'), pending('c'), pending('d')])).toEqual({
      total: 4,
      synced: 1,
      failed: 1,
      pending: 2,
    });
  });
});
