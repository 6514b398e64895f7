// helm template of the chart's tenancy, secure-metrics and NetworkPolicy switches: what each value turns into.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { type Manifest, only, renderChart } from '../harness/helm.ts';

interface Container {
  name: string;
  args: string[];
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
type Deployment = Manifest & {
  spec: {
    template: { spec: { containers: Container[]; volumes?: Array<{ name: string; secret?: { secretName: string } }> } };
  };
};
type Role = Manifest & { rules: Array<Record<string, string[]>> };

const operator = (ms: readonly Manifest[]) =>
  (only(ms, 'Deployment') as Deployment).spec.template.spec.containers.find((c) => c.name === 'operator');
const clusterRole = (ms: readonly Manifest[], name: string) =>
  ms.find((m) => m.kind === 'ClusterRole' && m.metadata.name === name) as Role | undefined;
const SECURE = { 'metrics.secure.enabled': 'true', 'metrics.secure.certSecret': 'metrics-tls' };

describe('tenancy values → operator flags', () => {
  it.each([
    [{}, ['--tenancy-mode=restricted'], 'the default is restricted with no trusted namespace'],
    [{ 'tenancy.mode': 'open' }, ['--tenancy-mode=open'], 'the one-line value for single-tenant clusters'],
    [
      { 'tenancy.trustedNamespaces': '{platform,ops}' },
      ['--tenancy-mode=restricted', '--trusted-namespaces=platform,ops'],
      'trusted namespaces become one comma list',
    ],
  ])('%j → %j (%s)', async (set, flags, _why) => {
    const args = operator(await renderChart({ set }))?.args ?? [];
    expect(args.filter((a) => a.startsWith('--tenancy') || a.startsWith('--trusted'))).toEqual(flags);
  });
});

describe('metrics.secure', () => {
  it('off by default: plain /metrics, no review rights, no metrics-reader role', async () => {
    const ms = await renderChart();
    expect(operator(ms)?.args).not.toContain('--metrics-secure');
    const rules = JSON.stringify(clusterRole(ms, 'imageshare-operator')?.rules);
    expect(rules).not.toContain('tokenreviews');
    expect(clusterRole(ms, 'imageshare-operator-metrics-reader')).toBeUndefined();
  });

  it('on: HTTPS from the mounted TLS Secret, review rights, and a role scrapers bind to', async () => {
    const ms = await renderChart({ set: SECURE });
    const c = operator(ms);
    expect(c?.args).toEqual(
      expect.arrayContaining(['--metrics-secure', '--metrics-cert-dir=/etc/imageshare-operator/metrics-tls']),
    );
    expect(c?.volumeMounts).toContainEqual({
      name: 'metrics-tls',
      mountPath: '/etc/imageshare-operator/metrics-tls',
      readOnly: true,
    });
    const volumes = (only(ms, 'Deployment') as Deployment).spec.template.spec.volumes ?? [];
    expect(volumes).toContainEqual({ name: 'metrics-tls', secret: { secretName: 'metrics-tls' } });
    expect(clusterRole(ms, 'imageshare-operator')?.rules).toEqual(
      expect.arrayContaining([
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ]),
    );
    expect(clusterRole(ms, 'imageshare-operator-metrics-reader')?.rules).toEqual([
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
  });

  it('on without naming a certificate Secret: it mounts <fullname>-metrics-tls', async () => {
    const ms = await renderChart({ set: { 'metrics.secure.enabled': 'true' } });
    const volumes = (only(ms, 'Deployment') as Deployment).spec.template.spec.volumes ?? [];
    expect(volumes).toContainEqual({ name: 'metrics-tls', secret: { secretName: 'imageshare-operator-metrics-tls' } });
  });

  it('the ServiceMonitor scrapes over HTTPS with a bearer token when secure', async () => {
    const ms = await renderChart({ set: { ...SECURE, 'metrics.serviceMonitor.enabled': 'true' } });
    const sm = only(ms, 'ServiceMonitor') as Manifest & { spec: { endpoints: Array<Record<string, unknown>> } };
    expect(sm.spec.endpoints[0]).toMatchObject({
      scheme: 'https',
      bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
  });
});

describe('credentials.reloadFromFile', () => {
  it('with existingSecret: the Secret is also mounted as files and --credentials-dir reads them', async () => {
    const ms = await renderChart({ set: { 'credentials.existingSecret': 'operator-keys' } });
    expect(operator(ms)?.args).toContain('--credentials-dir=/etc/imageshare-operator/credentials');
    const volumes = (only(ms, 'Deployment') as Deployment).spec.template.spec.volumes ?? [];
    expect(volumes).toContainEqual({
      name: 'operator-credentials',
      secret: {
        secretName: 'operator-keys',
        items: [
          { key: 'accessKeyId', path: 'accessKeyId' },
          { key: 'accessKeySecret', path: 'accessKeySecret' },
        ],
      },
    });
  });

  it.each([
    [{}, 'no existingSecret: nothing to mount'],
    [{ 'credentials.existingSecret': 'operator-keys', 'credentials.reloadFromFile': 'false' }, 'switched off'],
  ])('%j: no --credentials-dir (%s)', async (set, _why) => {
    expect(operator(await renderChart({ set }))?.args.join(' ')).not.toContain('--credentials-dir');
  });
});

describe('networkPolicy', () => {
  it('off by default', async () => {
    expect((await renderChart()).filter((m) => m.kind === 'NetworkPolicy')).toEqual([]);
  });

  it.each([
    [[], [{ ports: [{ port: 'health', protocol: 'TCP' }] }], 'no scraper named: only the health port is open'],
    [
      [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      [
        { ports: [{ port: 'health', protocol: 'TCP' }] },
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
          ports: [{ port: 'metrics', protocol: 'TCP' }],
        },
      ],
      'metrics only from the named peers',
    ],
  ])('metricsFrom %j → ingress %j (%s)', async (from, ingress, _why) => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-chart-'));
    const values = join(dir, 'values.yaml');
    await writeFile(values, stringify({ networkPolicy: { enabled: true, metricsFrom: from } }));
    const ms = await renderChart({ valuesFiles: [values] });
    await rm(dir, { recursive: true, force: true });
    const np = only(ms, 'NetworkPolicy') as Manifest & { spec: { ingress: unknown; policyTypes: string[] } };
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.ingress).toEqual(ingress);
  });
});
