// What the chart's tenancy values render (docs/adr/0024): restricted by default with no trusted namespace, trusted
// namespaces excluded from the baseline by their immutable name label, and `tenancy.mode: open` without a baseline.
// Behaviour on a real apiserver is in admission-policy.test.ts.
import { describe, expect, it } from '@jest/globals';
import { type Manifest, renderChart } from '../harness/helm.ts';

const BASELINE = 'imageshare-tenancy-baseline.ecs.alicloud.dev';
const POLICIES = 'imageshare-policies.ecs.alicloud.dev';
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
