// Exactly one writer (issue #8): the chart and the kustomize base can never run two reconciling pods at once, in
// steady state or during a rollout.
import { describe, expect, it } from '@jest/globals';
import { type Manifest, renderChart } from '../harness/helm.ts';

interface Deployment {
  spec: {
    replicas: number;
    strategy?: { type: string };
    template: { spec: { terminationGracePeriodSeconds: number; containers: Array<{ args: string[] }> } };
  };
}

const deployment = (ms: readonly Manifest[]) => ms.find((m) => m.kind === 'Deployment') as unknown as Deployment;
const args = (ms: readonly Manifest[]) => deployment(ms).spec.template.spec.containers[0]?.args ?? [];
const flag = (ms: readonly Manifest[], name: string) =>
  args(ms)
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')[1];

describe('chart: one writer at any moment', () => {
  const rows = [
    {
      why: 'defaults: election on, so the rolling update (old and new pod side by side) has one leader',
      set: {},
      elect: true,
      strategy: undefined,
    },
    {
      why: 'election off: Recreate, so the old pod is gone before the new one starts',
      set: { 'leaderElection.enabled': 'false' },
      elect: false,
      strategy: 'Recreate',
    },
    {
      why: 'several replicas force election on whatever the value says',
      set: { replicaCount: '3', 'leaderElection.enabled': 'false' },
      elect: true,
      strategy: undefined,
    },
  ];
  it.each(rows)('$why', async ({ set, elect, strategy }) => {
    const ms = await renderChart({ set });
    expect(args(ms).includes('--leader-elect')).toBe(elect);
    expect(deployment(ms).spec.strategy?.type).toBe(strategy);
  });

  it.each([
    ['30', '25s'],
    ['120', '115s'],
  ])(
    'terminationGracePeriodSeconds %s → --graceful-shutdown-timeout=%s (the Lease is released before SIGKILL)',
    async (grace, timeout) => {
      const ms = await renderChart({ set: { terminationGracePeriodSeconds: grace } });
      expect(flag(ms, 'graceful-shutdown-timeout')).toBe(timeout);
    },
  );
});

describe('chart: Secret access follows secretRefAccess', () => {
  it.each([
    ['off by default', {}, ''],
    ['named namespaces', { 'secretRefAccess.namespaces': '{team-a,team-b}' }, 'team-a,team-b'],
    ['cluster-wide', { 'secretRefAccess.clusterWide': 'true' }, '*'],
  ])('%s → --secret-namespaces=%j, so the operator never tries what RBAC refuses', async (_why, set, value) => {
    expect(flag(await renderChart({ set }), 'secret-namespaces')).toBe(value);
  });
});
