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
const ALLOWED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

type Container = PodSpec['containers'][number];

/** Every restricted-profile violation in `pod`, as readable strings (empty = compliant). */
function restrictedViolations(pod: PodSpec): string[] {
  const v: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) v.push('host namespaces');
  for (const vol of pod.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.includes(type)) v.push(`volume type ${String(type)}`);
  }
  for (const c of pod.containers)
    v.push(...containerViolations(c, pod.securityContext ?? {}).map((msg) => `${c.name}: ${msg}`));
  return v;
}

/** One row per rule: the message, and whether the container (with the pod-level defaults) breaks it. */
function containerViolations(c: Container, psc: SecurityContext): string[] {
  const sc = c.securityContext ?? {};
  const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
  const rules: Array<[string, boolean]> = [
    ['privileged', sc.privileged === true],
    ['allowPrivilegeEscalation must be false', sc.allowPrivilegeEscalation !== false],
    ['runAsNonRoot must be true', (sc.runAsNonRoot ?? psc.runAsNonRoot) !== true],
    ['runAsUser 0', (sc.runAsUser ?? psc.runAsUser) === 0],
    ['seccompProfile', seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost'],
    ['capabilities must drop ALL', !(sc.capabilities?.drop ?? []).includes('ALL')],
    ...(sc.capabilities?.add ?? []).map((cap): [string, boolean] => [`adds ${cap}`, cap !== 'NET_BIND_SERVICE']),
    ['hostPort', (c.ports ?? []).some((p) => p.hostPort)],
    // Not part of the PSS profile, but required by the issue: the root filesystem is read-only.
    ['readOnlyRootFilesystem must be true', sc.readOnlyRootFilesystem !== true],
  ];
  return rules.filter(([, broken]) => broken).map(([msg]) => msg);
}

const podOf = (ms: readonly Manifest[]): PodSpec =>
  (only(ms, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

describe('restricted Pod Security', () => {
  it('the checker itself flags a non-compliant pod', () => {
    // Guards against a checker that passes everything.
    const bad: PodSpec = {
      hostNetwork: true,
      containers: [{ name: 'c', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }],
      volumes: [{ name: 'h', hostPath: {} }],
    };
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
    const r = await runTool(`${await toolsDir()}/kubectl`, [
      'kustomize',
      new URL('../../deploy', import.meta.url).pathname,
    ]);
    expect(r.code).toBe(0);
    expect(restrictedViolations(podOf(parseManifests(r.stdout)))).toEqual([]);
  });
});
