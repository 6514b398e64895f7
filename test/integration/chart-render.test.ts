// helm lint and helm template over the default and the full values (test/support/values-full.yaml): what each
// value turns into in the rendered objects.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config.ts';
import { CHART_DIR, FULL_VALUES, helm, KUBE_VERSION, type Manifest, only, renderChart } from '../harness/helm.ts';

interface Container {
  name: string;
  image: string;
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: unknown;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{
    name: string;
    projected?: { sources: Array<{ serviceAccountToken?: { audience: string; path: string } }> };
  }>;
  [k: string]: unknown;
}

function podSpec(manifests: readonly Manifest[]): PodSpec {
  const d = only(manifests, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } };
  return d.spec.template.spec;
}
function operator(manifests: readonly Manifest[]): Container {
  const c = podSpec(manifests).containers.find((x) => x.name === 'operator');
  if (!c) throw new Error('no operator container');
  return c;
}
const kinds = (ms: readonly Manifest[]): string[] => ms.map((m) => m.kind).sort();

let defaults: Manifest[];
let full: Manifest[];
beforeAll(async () => {
  defaults = await renderChart();
  full = await renderChart({ release: 'prod', namespace: 'ops', valuesFiles: [FULL_VALUES] });
}, 20 * 60_000); // a cold helm build via build.sh can take minutes; cached it is instant

describe('helm lint', () => {
  it.each([
    ['default values', [] as string[]],
    ['full values', ['--values', FULL_VALUES]],
  ])('passes with %s', async (_name, extra) => {
    const r = await helm(['lint', CHART_DIR, '--strict', '--kube-version', KUBE_VERSION, ...extra]);
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({
      code: 0,
      out: expect.stringContaining('0 chart(s) failed'),
    });
  });
});

describe('helm template with default values', () => {
  it('renders exactly the CRDs, admission policies, ServiceAccount, cluster RBAC, the Lease Role, metrics Service and Deployment', () => {
    // One replica, leader election on (so a rolling update never runs two writers); no PDB; no monitoring objects.
    // Two admission policies with their bindings: ImageSharePolicy params and the restricted tenancy baseline.
    expect(kinds(defaults)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicyBinding',
    ]);
  });

  it('runs the operator image at the chart appVersion with the documented default flags', async () => {
    const chart = await readFile(`${CHART_DIR}/Chart.yaml`, 'utf8');
    const appVersion = /^appVersion:\s*"?([^"\n]+)"?/m.exec(chart)?.[1];
    const c = operator(defaults);
    expect(c.image).toBe(`ghcr.io/imageshare-operator/imageshare-operator:${appVersion}`);
    expect(c.args).toEqual([
      '--concurrency=4',
      '--ecs-qps=5',
      '--ecs-burst=10',
      '--resync-interval=10m',
      '--ecs-protocol=https',
      '--ecs-timeout=10s',
      '--leader-elect',
      '--leader-election-id=imageshare-operator',
      '--health-probe-bind-address=:8081',
      '--metrics-bind-address=:8080',
      '--graceful-shutdown-timeout=25s',
      '--secret-namespaces=',
      '--log-level=info',
      '--tenancy-mode=restricted',
    ]);
  });

  it('probes /healthz and /readyz on the health port', () => {
    const c = operator(defaults);
    expect([c.livenessProbe.httpGet, c.readinessProbe.httpGet]).toEqual([
      { path: '/healthz', port: 'health' },
      { path: '/readyz', port: 'health' },
    ]);
  });

  it('passes no credentials at all, so the default chain falls back to the instance role', () => {
    const names = (operator(defaults).env ?? []).map((e) => e.name);
    expect(names).toEqual(['POD_NAME', 'POD_NAMESPACE']);
  });
});

describe('helm template with full values', () => {
  it('adds the leader-election Role, PDB, per-namespace credential Roles, ServiceMonitor and PrometheusRule', () => {
    expect(kinds(full)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'PodDisruptionBudget',
      'PrometheusRule',
      'Role',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicyBinding',
    ]);
  });

  it('maps every operator value to its flag, and turns leader election on for 3 replicas', () => {
    expect(operator(full).args).toEqual([
      '--namespaces=team-a,team-b',
      '--concurrency=8',
      '--ecs-qps=2.5',
      '--ecs-burst=5',
      '--resync-interval=30m',
      '--ecs-endpoint=ecs-vpc.cn-hangzhou.aliyuncs.com:443',
      '--ecs-protocol=https',
      '--ecs-timeout=15s',
      '--leader-elect',
      '--leader-election-id=imageshare-operator-prod',
      '--health-probe-bind-address=:8081',
      '--metrics-bind-address=:8080',
      '--graceful-shutdown-timeout=25s',
      '--secret-namespaces=team-a,team-b',
      '--log-level=debug',
      '--tenancy-mode=restricted',
      '--trusted-namespaces=team-a',
      '--pod-name=$(POD_NAME)',
    ]);
  });

  it('wires RRSA: the three ALIBABA_CLOUD_* variables and a projected token with the STS audience', () => {
    const c = operator(full);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::1234567890123456:role/imageshare-operator',
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: 'acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123456789abcdef',
      ALIBABA_CLOUD_OIDC_TOKEN_FILE: '/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token',
    });
    const vol = podSpec(full).volumes?.find((v) => v.name === 'rrsa-oidc-token');
    expect(vol?.projected?.sources[0]?.serviceAccountToken).toEqual({
      audience: 'sts.aliyuncs.com',
      expirationSeconds: 3600,
      path: 'token',
    });
    expect(c.volumeMounts).toContainEqual({
      name: 'rrsa-oidc-token',
      mountPath: '/var/run/secrets/ack.alibabacloud.com/rrsa-tokens',
      readOnly: true,
    });
  });

  it('passes scheduling and pod metadata values through unchanged', () => {
    const spec = podSpec(full);
    expect(spec).toMatchObject({
      priorityClassName: 'system-cluster-critical',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'platform', effect: 'NoSchedule' }],
      affinity: { podAntiAffinity: expect.any(Object) },
      topologySpreadConstraints: [expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone' })],
      imagePullSecrets: [{ name: 'registry-pull' }],
      serviceAccountName: 'imageshare',
    });
    const tpl = (
      only(full, 'Deployment') as unknown as {
        spec: { template: { metadata: { annotations: object; labels: object } } };
      }
    ).spec.template.metadata;
    expect(tpl.annotations).toEqual({ 'example.com/scrape': 'true' });
    expect(tpl.labels).toMatchObject({ team: 'platform' });
  });

  it('selects the operator pods from the PDB, the metrics Service and the ServiceMonitor', () => {
    const selector = { 'app.kubernetes.io/name': 'imageshare-operator', 'app.kubernetes.io/instance': 'prod' };
    expect(only(full, 'PodDisruptionBudget').spec).toEqual({ minAvailable: 2, selector: { matchLabels: selector } });
    expect((only(full, 'Service').spec as { selector: unknown }).selector).toEqual(selector);
    expect((only(full, 'ServiceMonitor').spec as { selector: unknown }).selector).toEqual({ matchLabels: selector });
  });
});

describe('replicas and leader election', () => {
  it.each([
    {
      why: 'one replica elects too (a rolling update briefly runs two pods); a PDB would block drains',
      set: {},
      elect: true,
      pdb: false,
    },
    {
      why: 'two active replicas would both write to the cloud, so election is forced on',
      set: { replicaCount: '2', 'leaderElection.enabled': 'false' },
      elect: true,
      pdb: true,
    },
    {
      why: 'election can be turned off for one replica (the Deployment then uses Recreate)',
      set: { 'leaderElection.enabled': 'false' },
      elect: false,
      pdb: false,
    },
  ])('$why', async ({ set, elect, pdb }) => {
    const ms = await renderChart({ set });
    expect({
      elect: operator(ms).args.includes('--leader-elect'),
      leaseRole: ms.some((m) => m.kind === 'Role' && m.metadata.name.endsWith('-leader-election')),
      pdb: ms.some((m) => m.kind === 'PodDisruptionBudget'),
    }).toEqual({ elect, leaseRole: elect, pdb });
  });
});

describe('credentials', () => {
  it('reads keys from an existing Secret by reference, never as plain values', async () => {
    const ms = await renderChart({
      set: { 'credentials.existingSecret': 'ecs-owner', 'credentials.existingSecretKeys.securityToken': 'token' },
    });
    const env = operator(ms).env ?? [];
    expect(env.filter((e) => e.name.startsWith('ALIBABA_CLOUD_'))).toEqual([
      { name: 'ALIBABA_CLOUD_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'ecs-owner', key: 'accessKeyId' } } },
      {
        name: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
        valueFrom: { secretKeyRef: { name: 'ecs-owner', key: 'accessKeySecret' } },
      },
      { name: 'ALIBABA_CLOUD_SECURITY_TOKEN', valueFrom: { secretKeyRef: { name: 'ecs-owner', key: 'token' } } },
    ]);
    expect(ms.some((m) => m.kind === 'Secret')).toBe(false);
  });

  it('refuses a Secret and RRSA at the same time', async () => {
    const r = await helm([
      'template',
      'x',
      CHART_DIR,
      '--kube-version',
      KUBE_VERSION,
      '--set',
      'credentials.existingSecret=a',
      '--set',
      'credentials.rrsa.enabled=true',
      '--set',
      'credentials.rrsa.roleArn=acs:ram::1:role/r',
      '--set',
      'credentials.rrsa.oidcProviderArn=acs:ram::1:oidc-provider/p',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('credentials.existingSecret and credentials.rrsa.enabled are mutually exclusive');
  });
});

describe('PrometheusRule', () => {
  it('only uses metric names the operator exports (src/runtime/metrics.ts)', async () => {
    const source = await readFile(new URL('../../src/runtime/metrics.ts', import.meta.url), 'utf8');
    const exported = new Set([...source.matchAll(/name: '(imageshare_[a-z_]+)'/g)].map((m) => m[1]));
    const rule = only(full, 'PrometheusRule') as unknown as {
      spec: { groups: Array<{ rules: Array<{ expr: string }> }> };
    };
    const used = new Set(
      rule.spec.groups.flatMap((g) =>
        g.rules.flatMap((r) => [...r.expr.matchAll(/imageshare_[a-z_]+/g)].map((m) => m[0])),
      ),
    );
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});

describe('the operator accepts the rendered command line', () => {
  it.each([
    ['default values', () => defaults],
    ['full values', () => full],
  ])('%s: src/config.ts parses the args with the pod env', (_n, manifests) => {
    // POD_NAME / POD_NAMESPACE come from the downward API in the pod; here they are given directly.
    const config = loadConfig(operator(manifests()).args, { POD_NAME: 'operator-0', POD_NAMESPACE: 'ops' });
    expect(config).not.toBe('help');
  });

  it('full values reach the config unchanged', () => {
    const config = loadConfig(operator(full).args, { POD_NAME: 'operator-0', POD_NAMESPACE: 'ops' });
    if (config === 'help') throw new Error('unexpected help');
    expect(config).toMatchObject({
      namespaces: ['team-a', 'team-b'],
      concurrency: 8,
      ecsQps: 2.5,
      ecsBurst: 5,
      resyncIntervalMs: 30 * 60_000,
      ecsEndpoint: 'ecs-vpc.cn-hangzhou.aliyuncs.com:443',
      ecsTimeoutMs: 15_000,
      leaderElect: true,
      leaderElectionNamespace: 'ops',
      leaderElectionId: 'imageshare-operator-prod',
      logLevel: 'debug',
    });
  });
});
