// The shipped manifests against the real kube-apiserver: the chart (default and full values) and the kustomize
// base/overlay pass server-side dry-run apply; the operator's pod passes the API server's own restricted Pod
// Security admission; and the chart's RBAC, bound to a real user, allows exactly what the operator needs.
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import { addTestUser, testState } from '../harness/env.ts';
import {
  CHART_DIR,
  FULL_VALUES,
  helm,
  type Manifest,
  only,
  parseManifests,
  renderChartText,
  runTool,
} from '../harness/helm.ts';
import { createNamespace, kubectl } from '../harness/kubectl.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { runProcess } from '../harness/run-process.ts';

const DEPLOY = new URL('../../deploy', import.meta.url).pathname;
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Stand-ins so the dry-run can resolve the prometheus-operator kinds the full values render. They accept any
// content: this checks our objects reach the API server well-formed, not prometheus-operator's own schema.
const MONITORING_STANDINS = ['ServiceMonitor', 'PrometheusRule'].map((kind) => ({
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

async function installMonitoringStandins(): Promise<void> {
  await kubectl(['apply', '-f', '-'], { input: MONITORING_STANDINS.map((m) => stringify(m)).join('---\n') });
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/servicemonitors.monitoring.coreos.com',
    'crd/prometheusrules.monitoring.coreos.com',
  ]);
}

async function dryRunApply(manifests: string): Promise<string> {
  const r = await kubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=packaging-test', '--dry-run=server', '-f', '-'],
    {
      input: manifests,
      allowFail: true,
    },
  );
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout;
}

async function kustomize(dir: string): Promise<string> {
  const r = await runTool(`${testState().binDir}/kubectl`, ['kustomize', dir]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return r.stdout;
}

async function restrictedNamespace(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix);
  await kubectl([
    'label',
    'namespace',
    ns,
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/enforce-version=latest',
  ]);
  return ns;
}

/** The Deployment's pod template as a bare Pod in `namespace` (PSA enforces on Pods, only warns on workloads). */
function podFrom(manifests: readonly Manifest[], namespace: string): object {
  const d = only(manifests, 'Deployment') as unknown as { spec: { template: { metadata: object; spec: object } } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...d.spec.template.metadata, name: 'operator-pss-check', namespace },
    spec: d.spec.template.spec,
  };
}

describe('server-side dry-run apply', () => {
  it('accepts the chart with default values', async () => {
    const ns = await createNamespace('chart-default');
    const out = await dryRunApply(await renderChartText({ namespace: ns }));
    expect(out).toContain('deployment.apps/imageshare-operator serverside-applied (server dry run)');
    expect(out).toContain(
      'customresourcedefinition.apiextensions.k8s.io/imageshares.ecs.alicloud.dev serverside-applied (server dry run)',
    );
  });

  it('accepts the chart with full values', async () => {
    const [ns, teamA, teamB] = await Promise.all([
      createNamespace('chart-full'),
      createNamespace('team-a'),
      createNamespace('team-b'),
    ]);
    await installMonitoringStandins();
    const text = await renderChartText({
      release: 'prod',
      namespace: ns,
      valuesFiles: [FULL_VALUES],
      set: { 'operator.watchNamespaces': `{${teamA},${teamB}}`, 'secretRefAccess.namespaces': `{${teamA},${teamB}}` },
    });
    const out = await dryRunApply(text);
    for (const kind of [
      'poddisruptionbudget.policy',
      'servicemonitor.monitoring.coreos.com',
      'prometheusrule.monitoring.coreos.com',
      'role.rbac.authorization.k8s.io',
    ]) {
      expect(out).toContain(kind);
    }
  });

  it('accepts `kubectl kustomize deploy/` and the RRSA overlay', async () => {
    // The base creates imageshare-system; a dry run would not, so the namespaced objects need it to exist.
    await kubectl(['create', 'namespace', 'imageshare-system'], { allowFail: true });
    const base = await dryRunApply(await kustomize(DEPLOY));
    expect(base).toContain('deployment.apps/imageshare-operator serverside-applied (server dry run)');
    const rrsa = await dryRunApply(await kustomize(`${DEPLOY}/overlays/rrsa`));
    expect(rrsa).toContain('deployment.apps/imageshare-operator serverside-applied (server dry run)');
  });
});

describe('helm install --dry-run=server against the real API server', () => {
  // Exercises what `helm install` does beyond `helm template`: kubeVersion against the live server version, and NOTES.
  it.each([
    [
      'default values',
      [] as string[],
      ['Watching: all namespaces', 'leader election on', "default chain: the node's ECS instance RAM role"],
    ],
    [
      'full values',
      ['--values', FULL_VALUES],
      [
        'Watching: team-a, team-b',
        'leader election on, Lease',
        'RRSA, role acs:ram::1234567890123456:role/imageshare-operator',
      ],
    ],
  ])('renders and prints NOTES with %s', async (_n, extra, notes) => {
    const ns = await createNamespace('helm-install');
    await installMonitoringStandins();
    // The CRD already exists (global setup applied crds/ with kubectl), and Helm refuses to adopt an object it did
    // not create; docs/operations.md ("Upgrades") explains the same situation for users.
    const args = [
      'install',
      'isop',
      CHART_DIR,
      '--namespace',
      ns,
      '--dry-run=server',
      '--set',
      'crds.install=false',
      ...extra,
    ];
    const r = await helm([...args, '--kubeconfig', testState().kubeconfigPath]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const printed = r.stdout.slice(r.stdout.indexOf('NOTES:'));
    for (const line of notes) expect(printed).toContain(line);
  });
});

describe('restricted Pod Security admission', () => {
  it.each([
    ['chart defaults', async () => parseManifests(await renderChartText())],
    ['chart full values', async () => parseManifests(await renderChartText({ valuesFiles: [FULL_VALUES] }))],
    ['kustomize base', async () => parseManifests(await kustomize(DEPLOY))],
    ['kustomize RRSA overlay', async () => parseManifests(await kustomize(`${DEPLOY}/overlays/rrsa`))],
  ])('admits the operator pod from %s', async (_name, render) => {
    const ns = await restrictedNamespace('pss');
    const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: stringify(podFrom(await render(), ns)),
      allowFail: true,
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('rejects a pod that breaks the profile (the check is live)', async () => {
    const ns = await restrictedNamespace('pss-negative');
    const pod = podFrom(parseManifests(await renderChartText()), ns) as {
      spec: { containers: Array<{ securityContext: Record<string, unknown> }> };
    };
    const c = pod.spec.containers[0];
    if (!c) throw new Error('no container');
    c.securityContext = { ...c.securityContext, allowPrivilegeEscalation: true };
    const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: stringify(pod), allowFail: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false');
  });
});

describe("the chart's RBAC bound to a real user", () => {
  const cp = () => ({ ...testState(), addUser: addTestUser });

  async function canI(
    kubeconfig: string,
    verb: string,
    resource: string,
    namespace?: string,
    name?: string,
  ): Promise<boolean> {
    const [res, sub] = resource.split('/');
    const args = ['auth', 'can-i', verb, name ? `${res}/${name}` : `${res}`, ...(sub ? [`--subresource=${sub}`] : [])];
    args.push(...(namespace ? ['-n', namespace] : ['--all-namespaces']));
    const r = await kubectl(args, { allowFail: true, kubeconfig });
    return r.stdout.trim() === 'yes';
  }

  it('allows what the operator calls and nothing broader (default mode)', async () => {
    const [ns, other] = await Promise.all([createNamespace('rbac-release'), createNamespace('rbac-other')]);
    const kc = await operatorUserKubeconfig(cp(), ns, { noSecretAccess: true });
    const checks: Array<[string, string, string | undefined, string | undefined, boolean, string]> = [
      ['list', 'imageshares.ecs.alicloud.dev', undefined, undefined, true, 'the informer lists every namespace'],
      ['watch', 'imageshares.ecs.alicloud.dev', undefined, undefined, true, 'and watches them'],
      ['patch', 'imageshares.ecs.alicloud.dev', other, 'x', true, 'finalizers are added with a merge patch'],
      ['update', 'imageshares.ecs.alicloud.dev', other, 'x', false, 'the operator never writes spec'],
      // An ImageShareSet deletes its own children (docs/adr/0027); RBAC cannot say "own", the controller checks the uid.
      ['delete', 'imageshares.ecs.alicloud.dev', other, 'x', true, 'a set deletes the children it stamped'],
      ['delete', 'imagesharesets.ecs.alicloud.dev', other, 'x', false, 'the operator never deletes user objects'],
      ['patch', 'imageshares.ecs.alicloud.dev/status', other, 'x', true, 'status is patched through /status'],
      [
        'update',
        'imageshares.ecs.alicloud.dev/finalizers',
        other,
        'x',
        false,
        'finalizers are patched on the object itself',
      ],
      ['update', 'imageshares.ecs.alicloud.dev/status', other, 'x', false, 'status is never replaced'],
      ['get', 'imageshares.ecs.alicloud.dev/status', other, 'x', false, 'nor read through /status'],
      ['delete', 'imageshares.ecs.alicloud.dev/status', other, 'x', false, 'but nothing else on /status'],
      ['create', 'events.events.k8s.io', other, undefined, true, 'transition events go to the object namespace'],
      ['patch', 'events.events.k8s.io', other, 'x', true, 'and patched when a repeat counts into their series'],
      ['get', 'secrets', other, 'image-owner', false, 'no Secret access unless secretRefAccess names the namespace'],
      ['list', 'secrets', other, undefined, false, 'never list Secrets'],
      ['watch', 'secrets', other, undefined, false, 'never watch Secrets'],
      ['create', 'leases.coordination.k8s.io', ns, undefined, true, 'the Lease is created in the release namespace'],
      ['update', 'leases.coordination.k8s.io', ns, 'imageshare-operator', true, 'and renewed there'],
      ['update', 'leases.coordination.k8s.io', ns, 'someone-else', false, 'but no other Lease'],
      ['create', 'leases.coordination.k8s.io', other, undefined, false, 'Leases nowhere else'],
      ['create', 'pods', ns, undefined, false, 'nothing outside the operator API surface'],
    ];
    const results = [];
    for (const [verb, res, n, name, , why] of checks) results.push([why, await canI(kc, verb, res, n, name)]);
    expect(results).toEqual(checks.map(([, , , , allowed, why]) => [why, allowed]));
  });

  it('limits Secret reads to the watched namespaces in the namespace-restricted mode', async () => {
    const [ns, watched, unwatched] = await Promise.all([
      createNamespace('rbac-ns'),
      createNamespace('rbac-watched'),
      createNamespace('rbac-unwatched'),
    ]);
    const kc = await operatorUserKubeconfig(cp(), ns, { watchNamespaces: [watched] });
    const verbs = ['get', 'list', 'watch', 'patch'];
    const allowed = async (n: string) =>
      Promise.all(verbs.map((v) => canI(kc, v, 'secrets', n, v === 'list' || v === 'watch' ? undefined : 's')));
    // get reads the keys, list/watch re-enqueue on a restored Secret, patch holds the credentials-in-use finalizer.
    expect([await allowed(watched), await allowed(unwatched)]).toEqual([
      [true, true, true, true],
      [false, false, false, false],
    ]);
  });
});

// `npm pack` is how the CLI reaches CI jobs (docs/ci installs it with npm): the tarball must build itself (prepack),
// carry only what it needs (`files`), and give a working `imageshare-operator` bin when installed into an empty
// directory. Install uses the npm cache first (--prefer-offline), so a warm machine needs no network.
describe('npm pack → install into an empty directory', () => {
  const NODE_BIN_DIR = dirname(process.execPath);
  const env = { ...process.env, PATH: `${NODE_BIN_DIR}:${process.env.PATH ?? ''}` };
  let bin = '';
  let files: string[] = [];

  beforeAll(async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'imageshare-pack-'));
    const pack = await runProcess('npm', ['pack', '--pack-destination', tmp, '--json'], {
      cwd: REPO_ROOT,
      env,
      timeoutMs: 240_000,
    });
    if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    if (!info) throw new Error('npm pack printed no package');
    files = info.files.map((f) => f.path);
    const app = join(tmp, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), '{ "name": "pack-check", "private": true }\n');
    const install = await runProcess(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(tmp, info.filename)],
      {
        cwd: app,
        env,
        timeoutMs: 240_000,
      },
    );
    if (install.code !== 0) throw new Error(`npm install of the tarball failed: ${install.stderr}`);
    bin = join(app, 'node_modules/.bin/imageshare-operator');
  }, 480_000);

  it.each([
    ['dist/main.js', 'the bin, built by prepack'],
    ['crds/imageshare.yaml', 'the CRD, for kubectl apply from the package'],
    ['schemas/ecs.alicloud.dev/imageshare_v1alpha1.json', 'the kubeconform schema the README points at'],
    ['docs/argocd/health.lua', 'the Argo CD health check'],
    ['docs/ci/github-actions.yaml', 'the CI examples'],
  ])('ships %s (%s)', (path) => {
    expect(files).toContain(path);
  });

  it('ships no sources, tests or tooling', () => {
    expect(
      files.filter(
        (f) => /^(src|test|charts|deploy|examples)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
  });

  it('--help prints the usage', async () => {
    const r = await runProcess(bin, ['--help'], { env, timeoutMs: 30_000 });
    expect({ code: r.code, head: r.stdout.split('\n')[0] }).toEqual({
      code: 0,
      head: 'Usage: imageshare-operator [flags]',
    });
  });

  it('validate accepts the examples and rejects a broken manifest', async () => {
    const ok = await runProcess(bin, ['validate', '-f', join(REPO_ROOT, 'examples')], { env, timeoutMs: 30_000 });
    expect({ code: ok.code, last: ok.stdout.trim().split('\n').at(-1) }).toEqual({
      code: 0,
      last: `${await countValidated(join(REPO_ROOT, 'examples'))} valid, 0 invalid`,
    });
    const bad =
      'apiVersion: ecs.alicloud.dev/v1alpha1\nkind: ImageShare\nmetadata: {name: x, namespace: t}\nspec: {regionId: cn-hangzhou, imageId: m-bp18ygjuqnwhechc1234, accounts: ["0123"]}\n';
    const r = await runProcess(bin, ['validate', '-f', '-', '--output', 'json'], {
      env,
      input: bad,
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { summary: unknown }).summary).toEqual({ valid: 0, invalid: 1 });
  });
});

/** The kinds `validate` checks: ImageShare and the fleet kinds. */
const VALIDATED = new Set(['ImageShare', 'ImageShareSet', 'AccountSet', 'ClusterAccountSet']);

/** Documents of those kinds under dir, recursively: what `validate -f dir` must find. */
async function countValidated(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir, { recursive: true })) {
    if (!f.endsWith('.yaml')) continue;
    for (const d of parseAllDocuments(await readFile(join(dir, f), 'utf8')))
      if (VALIDATED.has((d.toJS() as { kind?: string } | null)?.kind ?? '')) n++;
  }
  return n;
}
