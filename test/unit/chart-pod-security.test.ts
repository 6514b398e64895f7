// The rendered pod spec meets the restricted Pod Security Standard field by field (the integration suite also has
// the API server's own PSA admission check it). Both the chart's defaults and the full values, and the kustomize
// base, are checked.
import { describe, expect, it } from '@jest/globals';
import { FULL_VALUES, type Manifest, only, parseManifests, renderChart, runTool, toolsDir } from '../harness/helm.ts';

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface PodSpec {
  securityContext?: SecurityContext;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  containers: Array<{ name: string; securityContext?: SecurityContext; ports?: Array<{ hostPort?: number }> }>;
  volumes?: Array<Record<string, unknown>>;
}

// Volume types the restricted profile allows.
const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** Every restricted-profile violation in `pod`, as readable strings (empty = compliant). */
function restrictedViolations(pod: PodSpec): string[] {
  const v: string[] = [];
  const psc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) v.push('host namespaces');
  for (const vol of pod.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.includes(type)) v.push(`volume type ${String(type)}`);
  }
  for (const c of pod.containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) v.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${c.name}: allowPrivilegeEscalation must be false`);
    if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) v.push(`${c.name}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) v.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') v.push(`${c.name}: seccompProfile`);
    if (!sc.capabilities?.drop?.includes('ALL')) v.push(`${c.name}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${c.name}: adds ${cap}`);
    if ((c.ports ?? []).some((p) => p.hostPort)) v.push(`${c.name}: hostPort`);
    // Not part of the PSS profile, but required by the issue: the root filesystem is read-only.
    if (sc.readOnlyRootFilesystem !== true) v.push(`${c.name}: readOnlyRootFilesystem must be true`);
  }
  return v;
}

const podOf = (ms: readonly Manifest[]): PodSpec =>
  (only(ms, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

describe('restricted Pod Security', () => {
  it('the checker itself flags a non-compliant pod', () => {
    // Guards against a checker that passes everything.
    const bad: PodSpec = { hostNetwork: true, containers: [{ name: 'c', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }], volumes: [{ name: 'h', hostPath: {} }] };
    expect(restrictedViolations(bad)).toEqual([
      'host namespaces',
      'volume type hostPath',
      'c: allowPrivilegeEscalation must be false',
      'c: runAsNonRoot must be true',
      'c: seccompProfile',
      'c: capabilities must drop ALL',
      'c: adds SYS_ADMIN',
      'c: readOnlyRootFilesystem must be true',
    ]);
  });

  it.each([
    ['chart defaults', {}],
    ['chart full values', { valuesFiles: [FULL_VALUES] }],
  ])('%s', async (_n, opts) => {
    expect(restrictedViolations(podOf(await renderChart(opts)))).toEqual([]);
  });

  it('kustomize base (deploy/)', async () => {
    const r = await runTool(`${await toolsDir()}/kubectl`, ['kustomize', new URL('../../deploy', import.meta.url).pathname]);
    expect(r.code).toBe(0);
    expect(restrictedViolations(podOf(parseManifests(r.stdout)))).toEqual([]);
  });
});
