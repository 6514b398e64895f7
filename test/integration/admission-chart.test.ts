// What the chart's tenancy values render (docs/adr/0024): restricted by default with no trusted namespace, trusted
// namespaces excluded from the baseline by their immutable name label, and `tenancy.mode: open` without a baseline.
// Behaviour on a real apiserver is in admission-policy.test.ts.
import { describe, expect, it } from '@jest/globals';
import { type Manifest, renderChart } from '../harness/helm.ts';

// Named after the release (fullname imageshare-operator for the default release name), like the ClusterRole.
const BASELINE = 'imageshare-operator-tenancy-baseline';
const POLICIES = 'imageshare-operator-imagesharepolicies';
const admission = (ms: readonly Manifest[]): string[] =>
  ms.filter((m) => m.kind.startsWith('ValidatingAdmissionPolicy')).map((m) => `${m.kind}/${m.metadata.name}`);
const binding = (ms: readonly Manifest[], name: string) =>
  ms.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === name) as
    | (Manifest & { spec: Record<string, unknown> })
    | undefined;

describe('chart tenancy values', () => {
  it('default values: the baseline binds every namespace (secure by default) and every policy applies', async () => {
    const ms = await renderChart();
    expect(admission(ms).sort()).toEqual([
      `ValidatingAdmissionPolicy/${POLICIES}`,
      `ValidatingAdmissionPolicy/${BASELINE}`,
      `ValidatingAdmissionPolicyBinding/${POLICIES}`,
      `ValidatingAdmissionPolicyBinding/${BASELINE}`,
    ]);
    expect(binding(ms, BASELINE)?.spec).toEqual({
      policyName: BASELINE,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: {} },
    });
    expect(binding(ms, POLICIES)?.spec).toEqual({
      policyName: POLICIES,
      validationActions: ['Deny'],
      paramRef: { selector: {}, parameterNotFoundAction: 'Allow' },
    });
  });

  it('trusted namespaces are left out of the baseline by kubernetes.io/metadata.name', async () => {
    const ms = await renderChart({ set: { 'tenancy.trustedNamespaces': '{platform,images}' } });
    expect(binding(ms, BASELINE)?.spec.matchResources).toEqual({
      namespaceSelector: {
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['platform', 'images'] }],
      },
    });
  });

  it('with operator.watchNamespaces, both bindings cover only the watched namespaces', async () => {
    const ms = await renderChart({
      set: { 'operator.watchNamespaces': '{team-a,platform}', 'tenancy.trustedNamespaces': '{platform}' },
    });
    const watched = { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'platform'] };
    expect(binding(ms, POLICIES)?.spec.matchResources).toEqual({ namespaceSelector: { matchExpressions: [watched] } });
    expect(binding(ms, BASELINE)?.spec.matchResources).toEqual({
      namespaceSelector: {
        matchExpressions: [watched, { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['platform'] }],
      },
    });
  });

  it('two releases never share an admission object (names carry the release)', async () => {
    const names = (ms: readonly Manifest[]) => admission(ms).map((n) => n.split('/')[1]);
    const a = names(await renderChart({ release: 'one' }));
    const b = names(await renderChart({ release: 'two' }));
    expect(a.filter((n) => b.includes(n))).toEqual([]);
    expect(
      binding(await renderChart({ release: 'one' }), 'one-imageshare-operator-tenancy-baseline')?.spec.policyName,
    ).toBe('one-imageshare-operator-tenancy-baseline');
  });

  it('tenancy.mode=open drops the baseline and keeps ImageSharePolicy enforcement', async () => {
    const ms = await renderChart({ set: { 'tenancy.mode': 'open' } });
    expect(admission(ms).sort()).toEqual([
      `ValidatingAdmissionPolicy/${POLICIES}`,
      `ValidatingAdmissionPolicyBinding/${POLICIES}`,
    ]);
  });

  it('refuses an unknown mode at render time', async () => {
    await expect(renderChart({ set: { 'tenancy.mode': 'permissive' } })).rejects.toThrow(/tenancy\/mode/);
  });
});
