// Least privilege, asserted verbatim: the rendered rules are exactly these, so anything broader (a wildcard,
// Secret list/watch, cluster-wide Leases, spec updates) fails here. The integration suite proves the same rules
// are sufficient by running the operator under them.
import { describe, expect, it } from '@jest/globals';
import { FULL_VALUES, type Manifest, renderChart } from '../harness/helm.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
type Role = Manifest & { rules: Rule[] };
interface Binding {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef: { kind: string; name: string };
  subjects: Array<{ kind: string; name: string; namespace: string }>;
}

const CORE_RULES: Rule[] = [
  { apiGroups: ['ecs.alicloud.dev'], resources: ['imageshares'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: ['ecs.alicloud.dev'], resources: ['imageshares/status'], verbs: ['patch'] },
  // ImageShareSet (docs/adr/0027): the sets, and the create/delete of their child ImageShares.
  { apiGroups: ['ecs.alicloud.dev'], resources: ['imagesharesets'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: ['ecs.alicloud.dev'], resources: ['imagesharesets/status'], verbs: ['patch'] },
  { apiGroups: ['ecs.alicloud.dev'], resources: ['imageshares'], verbs: ['create', 'delete'] },
  { apiGroups: ['ecs.alicloud.dev'], resources: ['accountsets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['ecs.alicloud.dev'], resources: ['clusteraccountsets'], verbs: ['get', 'list', 'watch'] },
  // The accountset-in-use finalizer and the referrers in the set's status (docs/adr/0033).
  { apiGroups: ['ecs.alicloud.dev'], resources: ['accountsets', 'clusteraccountsets'], verbs: ['patch'] },
  {
    apiGroups: ['ecs.alicloud.dev'],
    resources: ['accountsets/status', 'clusteraccountsets/status'],
    verbs: ['patch'],
  },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['namespaces'], resourceNames: ['kube-system'], verbs: ['get'] },
  // The tenancy rules at reconcile: policies and the namespace labels they select by.
  { apiGroups: ['ecs.alicloud.dev'], resources: ['imagesharepolicies'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
];
const SECRET_GET: Rule = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'patch'] };

const roles = (ms: readonly Manifest[]): Role[] =>
  ms.filter((m) => m.kind === 'Role' || m.kind === 'ClusterRole') as Role[];
const byKind = (ms: readonly Manifest[], kind: string): Role[] => roles(ms).filter((r) => r.kind === kind);
const bindings = (ms: readonly Manifest[]): Binding[] =>
  ms.filter((m) => m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding') as unknown as Binding[];

describe('chart RBAC', () => {
  it('default: one ClusterRole with the core rules, no Secret access, and only the Lease Role', async () => {
    const ms = await renderChart();
    expect(byKind(ms, 'ClusterRole').map((r) => r.rules)).toEqual([CORE_RULES]);
    expect(byKind(ms, 'Role').map((r) => r.metadata.name)).toEqual(['imageshare-operator-leader-election']);
  });

  it('secretRefAccess.clusterWide: Secrets in the ClusterRole', async () => {
    const ms = await renderChart({ set: { 'secretRefAccess.clusterWide': 'true' } });
    expect(byKind(ms, 'ClusterRole').map((r) => r.rules)).toEqual([[...CORE_RULES, SECRET_GET]]);
  });

  it('clusterId set: the kube-system read is not needed, so it is not granted, and the flag is passed', async () => {
    const ms = await renderChart({ set: { clusterId: 'prod-hz' } });
    expect(byKind(ms, 'ClusterRole').map((r) => r.rules)).toEqual([
      CORE_RULES.filter((r) => !r.resourceNames?.includes('kube-system')),
    ]);
    expect(JSON.stringify(ms.find((m) => m.kind === 'Deployment'))).toContain('--cluster-id=prod-hz');
  });

  it('leader election: Leases only in the release namespace, get/update only on the one Lease', async () => {
    const ms = await renderChart({
      namespace: 'ops',
      set: { replicaCount: '2', 'leaderElection.leaseName': 'my-lease' },
    });
    const leaseRoles = byKind(ms, 'Role');
    expect(leaseRoles.map((r) => ({ ns: r.metadata.namespace, rules: r.rules }))).toEqual([
      {
        ns: 'ops',
        rules: [
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
          {
            apiGroups: ['coordination.k8s.io'],
            resources: ['leases'],
            resourceNames: ['my-lease'],
            verbs: ['get', 'update'],
          },
        ],
      },
    ]);
    expect(
      byKind(ms, 'ClusterRole')
        .flatMap((r) => r.rules)
        .some((rule) => rule.resources.includes('leases')),
    ).toBe(false);
  });

  it('secretRefAccess.namespaces: one Secret Role per named namespace, nothing cluster-wide', async () => {
    const ms = await renderChart({ release: 'prod', namespace: 'ops', valuesFiles: [FULL_VALUES] });
    expect(byKind(ms, 'ClusterRole').map((r) => r.rules)).toEqual([CORE_RULES]);
    const secretRoles = byKind(ms, 'Role').filter((r) => r.rules.some((rule) => rule.resources.includes('secrets')));
    expect(secretRoles.map((r) => ({ ns: r.metadata.namespace, rules: r.rules }))).toEqual([
      { ns: 'team-a', rules: [SECRET_GET] },
      { ns: 'team-b', rules: [SECRET_GET] },
    ]);
  });

  it('leader election off: no Lease Role, and still no Secret access', async () => {
    const ms = await renderChart({ set: { 'leaderElection.enabled': 'false' } });
    expect(byKind(ms, 'Role')).toEqual([]);
    expect(
      roles(ms)
        .flatMap((r) => r.rules)
        .some((rule) => rule.resources.includes('secrets')),
    ).toBe(false);
  });

  it.each([
    ['default', {}],
    ['full', { valuesFiles: [FULL_VALUES] }],
  ])(
    '%s values: no wildcard, no Secret list/watch, no spec writes, nothing outside the known groups',
    async (_n, opts) => {
      const rules = roles(await renderChart(opts)).flatMap((r) => r.rules);
      const flat = rules.flatMap((r) => [...r.apiGroups, ...r.resources, ...r.verbs, ...(r.resourceNames ?? [])]);
      expect(flat.filter((x) => x.includes('*'))).toEqual([]);
      expect(
        rules.filter((r) => r.resources.includes('secrets')).every((r) => r.verbs.join() === 'get,list,watch,patch'),
      ).toBe(true);
      expect(rules.filter((r) => r.resources.includes('imageshares')).flatMap((r) => r.verbs)).not.toContain('update');
      const allowedGroups = ['', 'coordination.k8s.io', 'ecs.alicloud.dev', 'events.k8s.io'];
      expect(rules.flatMap((r) => r.apiGroups).filter((g) => !allowedGroups.includes(g))).toEqual([]);
    },
  );

  it('binds every Role and ClusterRole to the operator ServiceAccount only', async () => {
    const ms = await renderChart({ release: 'prod', namespace: 'ops', valuesFiles: [FULL_VALUES] });
    const names = new Set(roles(ms).map((r) => `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`));
    for (const b of bindings(ms)) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'imageshare', namespace: 'ops' }]);
      const roleNs = b.roleRef.kind === 'Role' ? (b.metadata.namespace ?? '') : '';
      expect(names.has(`${b.roleRef.kind}/${roleNs}/${b.roleRef.name}`)).toBe(true);
    }
    expect(bindings(ms).length).toBe(roles(ms).length);
  });
});
