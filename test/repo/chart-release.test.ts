// The chart as a released artifact: its default resources fit the sizing table it documents (values.yaml, parsed
// here so the two stay in step), its monitoring objects query only metrics the operator exports, its `helm test`
// hook checks what it claims, and Artifact Hub finds the metadata it reads.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { ConfigError, FLAGS, LOG_LEVELS, loadConfig } from '../../src/config.ts';
import { OperatorMetrics } from '../../src/runtime/metrics.ts';
import { CHART_DIR, type Manifest, only, renderChart } from '../harness/helm.ts';

const read = (rel: string): Promise<string> => readFile(new URL(`../../${rel}`, import.meta.url), 'utf8');
const VALUES = 'charts/imageshare-operator/values.yaml';

/** Kubernetes memory quantity → bytes (the binary and decimal suffixes the table and values use). */
function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(q.trim());
  if (!m?.[1]) throw new Error(`not a memory quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

interface SizingRow {
  objects: string;
  isDefault: boolean;
  /** Measured RSS in MiB, or undefined where the table says it was not measured. */
  rssMiB: number | undefined;
  request: string;
  limit: string;
}

/** The "# | objects | RSS measured | memory request | memory limit | ..." table in values.yaml's comments. */
function sizingTable(valuesText: string): SizingRow[] {
  const lines = valuesText.split('\n').filter((l) => l.startsWith('# |'));
  const cells = (l: string) =>
    l
      .slice(1)
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
  const [header, ...rows] = lines.map(cells);
  if (!header) throw new Error(`${VALUES} has no sizing table`);
  const col = (name: string) => {
    const i = header.findIndex((h) => h.toLowerCase() === name);
    if (i < 0) throw new Error(`sizing table has no "${name}" column`);
    return i;
  };
  const [obj, rss, req, lim] = [col('objects'), col('rss measured'), col('memory request'), col('memory limit')];
  return rows.map((r) => {
    const rssText = r[rss] ?? '';
    return {
      objects: r[obj] ?? '',
      isDefault: (r[obj] ?? '').includes('(default)'),
      rssMiB: /^\d+ MiB$/.test(rssText) ? Number.parseInt(rssText, 10) : undefined,
      request: r[req] ?? '',
      limit: r[lim] ?? '',
    };
  });
}

describe('sizing', () => {
  it('the default resources are at least the table row marked (default), which is 10,000 objects', async () => {
    const text = await read(VALUES);
    const rows = sizingTable(text);
    const def = rows.filter((r) => r.isDefault);
    expect(def.map((r) => r.objects)).toEqual(['10,000 (default)']);
    const row = def[0] as SizingRow;
    const values = parse(text) as { resources: { requests: { memory: string }; limits: { memory: string } } };
    expect(bytes(values.resources.limits.memory)).toBeGreaterThanOrEqual(bytes(row.limit));
    expect(bytes(values.resources.requests.memory)).toBeGreaterThanOrEqual(bytes(row.request));
  });

  it('every measured row leaves headroom: request >= measured RSS, limit >= 1.25 x measured RSS', async () => {
    const rows = sizingTable(await read(VALUES)).filter((r) => r.rssMiB !== undefined);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const rss = (r.rssMiB as number) * 2 ** 20;
      expect({
        row: r.objects,
        requestCovers: bytes(r.request) >= rss,
        limitHeadroom: bytes(r.limit) >= 1.25 * rss,
      }).toEqual({ row: r.objects, requestCovers: true, limitHeadroom: true });
    }
  });

  it('the measured RSS at 10,000 objects is the figure docs/performance.md records for the image flags', async () => {
    const perf = await read('docs/performance.md');
    const row = sizingTable(await read(VALUES)).find((r) => r.isDefault);
    // The latest run (the image's flags) reports "RSS at 0 / 2,000 / 10,000 synced ... | a / b / c MiB".
    const runs = [...perf.matchAll(/RSS at 0 \/ 2,000 \/ 10,000 synced[^\n]*\| \**(\d+) \/ (\d+) \/ (\d+) MiB/g)];
    expect(runs.length).toBeGreaterThan(0);
    expect(Number(runs.at(-1)?.[3])).toBe(row?.rssMiB);
  });

  it('the rendered Deployment carries the default resources', async () => {
    const d = only(await renderChart(), 'Deployment') as unknown as {
      spec: { template: { spec: { containers: Array<{ resources: unknown }> } } };
    };
    const values = parse(await read(VALUES)) as { resources: unknown };
    expect(d.spec.template.spec.containers[0]?.resources).toEqual(values.resources);
  });
});

/** Metric names a scrape of the operator can return, histogram series included. */
async function exportedSeries(): Promise<Set<string>> {
  const text = await new OperatorMetrics().text();
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [m[1] as string, m[2]];
    out.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(`${name}${s}`);
  }
  return out;
}

/** Series names a PromQL expression selects: identifiers directly before a `{` matcher or a `[` range. */
function seriesIn(expr: string): string[] {
  const noStrings = expr.replace(/"[^"]*"/g, '""');
  return [...noStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)].map((m) => m[1] as string);
}

const MONITORING = {
  'metrics.prometheusRule.enabled': 'true',
  'metrics.podMonitor.enabled': 'true',
  'metrics.dashboard.enabled': 'true',
};

describe('monitoring', () => {
  it('the rules and the dashboard query only series the operator exports', async () => {
    const ms = await renderChart({ set: MONITORING });
    const rule = only(ms, 'PrometheusRule') as unknown as {
      spec: { groups: Array<{ rules: Array<{ expr: string }> }> };
    };
    const dashboard = JSON.parse(await read('charts/imageshare-operator/dashboards/imageshare.json')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const exprs = [
      ...rule.spec.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ];
    const used = new Set(exprs.flatMap(seriesIn));
    expect(used.size).toBeGreaterThan(10);
    const exported = await exportedSeries();
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
  });

  it('has the no-leader alert docs/operations.md describes, on imageshare_leader_status', async () => {
    const rule = only(await renderChart({ namespace: 'ops', set: MONITORING }), 'PrometheusRule') as unknown as {
      spec: { groups: Array<{ rules: Array<{ alert: string; expr: string; for: string }> }> };
    };
    const noLeader = rule.spec.groups.flatMap((g) => g.rules).find((r) => r.alert === 'ImageShareNoLeader');
    expect(noLeader).toMatchObject({
      expr: '(sum(imageshare_leader_status{namespace="ops"}) or vector(0)) < 1',
      for: '5m',
    });
  });

  it('imageshare_build_info carries the package version and the Node.js version', async () => {
    const pkg = JSON.parse(await read('package.json')) as { version: string };
    const text = await new OperatorMetrics().text();
    expect(text).toContain(`imageshare_build_info{version="${pkg.version}",node_version="${process.version}",commit=`);
  });

  it('imageshare_build_info takes the commit from IMAGESHARE_COMMIT (the image sets it from VCS_REF)', async () => {
    const before = process.env.IMAGESHARE_COMMIT;
    process.env.IMAGESHARE_COMMIT = '0123abc';
    try {
      expect(await new OperatorMetrics().text()).toMatch(/^imageshare_build_info\{[^}]*commit="0123abc"\} 1$/m);
    } finally {
      if (before === undefined) delete process.env.IMAGESHARE_COMMIT;
      else process.env.IMAGESHARE_COMMIT = before;
    }
    const dockerfile = await read('Dockerfile');
    expect(dockerfile).toMatch(/^ENV IMAGESHARE_COMMIT=\$\{VCS_REF\}$/m);
  });

  it('the PodMonitor scrapes the port named metrics on the operator pods only', async () => {
    const ms = await renderChart({ set: MONITORING });
    const pm = only(ms, 'PodMonitor') as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: Array<{ port: string; path: string }>;
      };
    };
    const d = only(ms, 'Deployment') as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        template: { spec: { containers: Array<{ ports: Array<{ name: string }> }> } };
      };
    };
    expect(pm.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    // The port named `metrics` is the one --metrics-bind-address listens on; `health` serves the probes only.
    expect(pm.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    expect(d.spec.template.spec.containers[0]?.ports.map((p) => p.name)).toContain('metrics');
  });

  it('the dashboard ConfigMap holds the shipped JSON, with the Grafana sidecar label', async () => {
    const cm = only(await renderChart({ set: MONITORING }), 'ConfigMap') as Manifest & { data: Record<string, string> };
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['imageshare.json'] ?? '')).toEqual(
      JSON.parse(await read('charts/imageshare-operator/dashboards/imageshare.json')),
    );
  });

  it('renders no monitoring object by default', async () => {
    const kinds = (await renderChart()).map((m) => m.kind);
    expect(kinds.filter((k) => ['PodMonitor', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap'].includes(k))).toEqual(
      [],
    );
  });
});

describe('helm test hook', () => {
  const hooks = async (): Promise<Manifest[]> =>
    (await renderChart({ release: 'isop', namespace: 'ops', includeTests: true })).filter(
      (m) => m.metadata.annotations?.['helm.sh/hook'] === 'test',
    );

  it('is a Pod with its own ServiceAccount, Role and RoleBinding, all test hooks', async () => {
    expect((await hooks()).map((m) => m.kind).sort()).toEqual(['Pod', 'Role', 'RoleBinding', 'ServiceAccount']);
  });

  it('waits for the operator Deployment to be Available, then lists ImageShares (the CRD is served)', async () => {
    const all = await renderChart({ release: 'isop', namespace: 'ops', includeTests: true });
    const pod = only(await hooks(), 'Pod') as unknown as {
      spec: { initContainers: Array<{ args: string[] }>; containers: Array<{ args: string[] }> };
    };
    const deployment = only(all, 'Deployment').metadata.name;
    const crd = only(all, 'CustomResourceDefinition', 'imageshares.ecs.alicloud.dev').metadata.name;
    expect(pod.spec.initContainers[0]?.args).toEqual([
      'wait',
      '--namespace=ops',
      '--for=condition=Available',
      '--timeout=60s',
      `deployment/${deployment}`,
    ]);
    expect(pod.spec.containers[0]?.args).toEqual(['get', '--namespace=ops', '--request-timeout=60s', crd]);
  });

  it("is not selected by the operator's Service or PodMonitor (its labels are not the selector labels)", async () => {
    const all = await renderChart({ release: 'isop', namespace: 'ops', includeTests: true, set: MONITORING });
    const pod = only(await hooks(), 'Pod');
    const selector = (only(all, 'Service').spec as { selector: Record<string, string> }).selector;
    const labels = pod.metadata.labels ?? {};
    expect(Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(false);
  });

  it('is left out of the rendered manifests unless asked for (helm install applies hooks itself)', async () => {
    const all = await renderChart({ release: 'isop', namespace: 'ops' });
    expect(all.filter((m) => m.metadata.annotations?.['helm.sh/hook'] !== undefined)).toEqual([]);
  });
});

describe('values facts that must match the operator', () => {
  const schema = async () =>
    JSON.parse(await read('charts/imageshare-operator/values.schema.json')) as {
      properties: { operator: { properties: Record<string, { enum?: string[]; description?: string }> } };
    };

  it('operator.logLevel: the values comment and the schema list the six levels src/config.ts accepts', async () => {
    const comment = /# -- ([a-z |]+)\.\n\s+logLevel:/.exec(await read(VALUES))?.[1] ?? '';
    expect(comment.split(' | ').sort()).toEqual([...LOG_LEVELS].sort());
    expect([...((await schema()).properties.operator.properties.logLevel?.enum ?? [])].sort()).toEqual(
      [...LOG_LEVELS].sort(),
    );
  });

  it("operator.resyncInterval: the schema's floor is the shortest interval the operator accepts", async () => {
    const floor = /^(\d+)m\.\./.exec((await schema()).properties.operator.properties.resyncInterval?.description ?? '');
    expect(floor?.[1]).toBeDefined();
    const minutes = Number(floor?.[1]);
    expect(() => loadConfig([`--resync-interval=${minutes}m`], {})).not.toThrow();
    expect(() => loadConfig([`--resync-interval=${minutes * 60 - 1}s`], {})).toThrow(ConfigError);
  });

  it('operator.ecsQps: values and schema scope the budget as the flag does, per (account, region, action)', async () => {
    expect(FLAGS['ecs-qps'].help).toContain('per (account, region, API action)');
    expect(await read(VALUES)).toContain('ECS API calls per second per (account, region, action)');
    expect((await schema()).properties.operator.properties.ecsQps?.description).toContain('(account, region, action)');
  });
});

describe('Artifact Hub metadata', () => {
  it('declares license, images, changes, home, icon, sources and maintainers', async () => {
    const chart = parse(await read('charts/imageshare-operator/Chart.yaml')) as Record<string, unknown> & {
      annotations: Record<string, string>;
    };
    const pkg = JSON.parse(await read('package.json')) as { license: string };
    expect(chart.annotations['artifacthub.io/license']).toBe(pkg.license);
    const changes = parse(chart.annotations['artifacthub.io/changes'] ?? '') as Array<{ kind: string }>;
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes)
      expect(['added', 'changed', 'deprecated', 'removed', 'fixed', 'security']).toContain(c.kind);
    for (const key of ['home', 'icon', 'sources', 'maintainers']) expect(chart[key]).toBeTruthy();
    // The icon the URL points at ships in the chart directory.
    expect(String(chart.icon)).toMatch(/\/charts\/imageshare-operator\/icon\.svg$/);
    await expect(readFile(`${CHART_DIR}/icon.svg`, 'utf8')).resolves.toContain('<svg');
  });
});
