// The chart's release additions against the real kube-apiserver: the `helm test` hook objects pass server-side apply
// and restricted Pod Security admission, and the commands of its Pod, run with kubectl under the hook's own
// ServiceAccount, fail while the operator Deployment is not Available and pass once it is. There is no kubelet or
// controller-manager here, so the Pod itself never runs: the Deployment's Available condition is written by hand,
// as the deployment controller would. The monitoring objects (PodMonitor, PrometheusRule, dashboard ConfigMap) are
// applied against stand-in prometheus-operator CRDs.
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { type Manifest, only, renderChart } from '../harness/helm.ts';
import { createNamespace, kubectl } from '../harness/kubectl.ts';

// Not 'isop' or the default name: cluster-scoped objects (ClusterRole) would collide with other files' releases.
const RELEASE = 'hooktest';

async function restrictedNamespace(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix);
  await kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
  return ns;
}

async function serverSideApply(manifests: readonly Manifest[]): Promise<void> {
  const input = manifests.map((m) => stringify(m)).join('---\n');
  const r = await kubectl(['apply', '--server-side', '--field-manager=chart-release-test', '-f', '-'], {
    input,
    allowFail: true,
  });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
}

interface HookPod {
  metadata: { name: string };
  spec: {
    serviceAccountName: string;
    initContainers: Array<{ args: string[] }>;
    containers: Array<{ args: string[] }>;
  };
}

/** Runs a hook container's kubectl arguments as the hook's ServiceAccount (impersonated by the admin). */
function asHook(ns: string, pod: HookPod, args: readonly string[]) {
  return kubectl([`--as=system:serviceaccount:${ns}:${pod.spec.serviceAccountName}`, ...args], { allowFail: true });
}

describe('helm test hook on the real API server', () => {
  it('applies, is admitted under restricted Pod Security, and its checks pass only once the operator is Available', async () => {
    const ns = await restrictedNamespace('helm-test');
    const all = await renderChart({
      release: RELEASE,
      namespace: ns,
      includeTests: true,
      set: { 'crds.install': 'false' },
    });
    // The operator's objects first (the hook checks them), then the hook objects in Helm's weight order.
    const isHook = (m: Manifest) => m.metadata.annotations?.['helm.sh/hook'] === 'test';
    await serverSideApply(all.filter((m) => !isHook(m)));
    await serverSideApply(all.filter((m) => isHook(m) && m.kind !== 'Pod'));
    await serverSideApply(all.filter((m) => isHook(m) && m.kind === 'Pod'));

    const pod = only(all.filter(isHook), 'Pod') as unknown as HookPod;
    const wait = (pod.spec.initContainers[0]?.args ?? []).map((a) => (a.startsWith('--timeout=') ? '--timeout=3s' : a));
    const list = pod.spec.containers[0]?.args ?? [];

    const before = await asHook(ns, pod, wait);
    expect(before.code).not.toBe(0); // nothing made the Deployment Available yet

    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const deployment = only(all, 'Deployment').metadata.name;
    await kubectl([
      'patch',
      'deployment',
      deployment,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          conditions: [
            {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'set by the test',
              lastTransitionTime: now,
              lastUpdateTime: now,
            },
          ],
        },
      }),
    ]);
    const after = await asHook(ns, pod, wait);
    expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: '' });

    const served = await asHook(ns, pod, list);
    expect({ code: served.code, stderr: served.stderr.trim() }).toEqual({
      code: 0,
      stderr: `No resources found in ${ns} namespace.`,
    });
  });

  it("needs its own Role: the namespace's default ServiceAccount may not run the same checks", async () => {
    const ns = await createNamespace('helm-test-rbac');
    const all = await renderChart({
      release: RELEASE,
      namespace: ns,
      includeTests: true,
      set: { 'crds.install': 'false' },
    });
    const pod = only(
      all.filter((m) => m.metadata.annotations?.['helm.sh/hook'] === 'test'),
      'Pod',
    ) as unknown as HookPod;
    const r = await kubectl([`--as=system:serviceaccount:${ns}:default`, ...(pod.spec.containers[0]?.args ?? [])], {
      allowFail: true,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('forbidden');
  });
});

const STANDINS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].map((kind) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${kind.toLowerCase()}s.monitoring.coreos.com` },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase(), listKind: `${kind}List` },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
}));

describe('monitoring objects on the real API server', () => {
  it('PodMonitor, PrometheusRule and the dashboard ConfigMap pass server-side apply', async () => {
    // Stand-ins accept any content: this checks our objects reach the API server well-formed (the ConfigMap, a core
    // kind, is fully validated, including the 1 MiB size limit).
    await kubectl(['apply', '--server-side', '--field-manager=chart-release-test', '-f', '-'], {
      input: STANDINS.map((m) => stringify(m)).join('---\n'),
    });
    await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      ...STANDINS.map((s) => `crd/${s.metadata.name}`),
    ]);
    const ns = await createNamespace('monitoring');
    const all = await renderChart({
      release: RELEASE,
      namespace: ns,
      set: {
        'crds.install': 'false',
        'metrics.podMonitor.enabled': 'true',
        'metrics.prometheusRule.enabled': 'true',
        'metrics.dashboard.enabled': 'true',
      },
    });
    const monitoring = all.filter((m) => ['PodMonitor', 'PrometheusRule', 'ConfigMap'].includes(m.kind));
    expect(monitoring.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
    await serverSideApply(monitoring);
    const cm = await kubectl(['get', 'configmap', '-n', ns, '-l', 'grafana_dashboard=1', '-o', 'name']);
    expect(cm.stdout.trim()).toBe(`configmap/${RELEASE}-imageshare-operator-dashboard`);
  });
});
