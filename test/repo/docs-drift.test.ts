// Facts the docs state that can drift from the code, each checked against its source of truth: the flags against
// src/config.ts and the CLI's own --help (the README flag table against the operator's --help), the README status
// table against the CRD, docs/metrics.md against the metrics registry, the emulator's fault table against its fault
// types, the RAM actions against the ECS requests src/cloud builds, the Go version
// against the go.mod files, cited test files against the tree, the request counts in docs/performance.md against its
// latest run, and a few statements issue 15 found wrong once (immutable imageId, Flux CRD policy, the annotation).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/commands.ts';
import { CredentialsProviderError } from '../../src/cloud/credentials.ts';
import { classifyEcsError, ErrorInBody } from '../../src/cloud/ecs-errors.ts';
import { BudgetWaitTimeout } from '../../src/cloud/rate-budget.ts';
import { RequestBoundCode, RequestBoundError } from '../../src/cloud/request-bounds.ts';
import { FLAGS, helpText } from '../../src/config.ts';
import { RECONCILE_REQUESTED_AT } from '../../src/kube/imageshare-informer.ts';
import { OperatorMetrics } from '../../src/runtime/metrics.ts';
import { FAULT_TYPES, MALFORMED_VARIANTS } from '../emulator/faults.ts';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFile(join(ROOT, path), 'utf8');

async function filesUnder(dir: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/** Every document a user reads: README, docs (not the ADRs, which are history), the chart README and NOTES, examples. */
async function userDocs(): Promise<string[]> {
  const docs = (await filesUnder('docs', /\.(md|ya?ml)$/)).filter((f) => !f.startsWith('docs/adr/'));
  return [
    'README.md',
    ...docs,
    'charts/imageshare-operator/README.md',
    'charts/imageshare-operator/templates/NOTES.txt',
    ...(await filesUnder('examples', /\.ya?ml$/)),
  ];
}

/** The flags of `validate --help` and `plan --help`, as the CLI prints them. */
async function cliFlags(): Promise<Set<string>> {
  let help = '';
  for (const command of ['validate', 'plan'])
    await runCli([command, '--help'], {
      out: (t) => {
        help += t;
      },
      err: () => undefined,
    });
  return new Set([...help.matchAll(/--([a-z][a-z0-9-]+)/g)].map((m) => m[1] ?? ''));
}

/** Flags of other programs the docs show, each with where it belongs. Not operator or CLI flags. */
const OTHER_TOOLS: Record<string, string> = {
  set: 'helm',
  'create-namespace': 'helm',
  'kube-version': 'helm template',
  wait: 'helm (Helm 4 --wait reads kstatus)',
  'server-side': 'kubectl apply',
  for: 'kubectl wait',
  type: 'kubectl patch',
  'patch-file': 'kubectl patch',
  subresource: 'kubectl patch',
  overwrite: 'kubectl annotate',
  'from-literal': 'kubectl create secret',
  namespace: 'kubectl, helm and the demo',
  timeout: 'the demo',
  keep: 'the demo',
  seed: 'the emulator and the chaos run',
  port: 'the emulator',
  host: 'the emulator',
  objects: 'the benchmark',
  'quota-objects': 'the benchmark',
  quota: 'the benchmark',
  accounts: 'the benchmark',
  patches: 'the benchmark',
  'idle-seconds': 'the benchmark',
  'skip-quota': 'the benchmark',
  'heap-dir': 'the benchmark',
  'memory-limit': 'the benchmark',
  'node-options': 'the benchmark',
  'operator-env': 'the benchmark',
  'set-regions': 'the benchmark',
  builds: 'the benchmark',
  'set-interval': 'the benchmark',
  'set-rounds': 'the benchmark',
  rounds: 'the chaos run',
  duration: 'the chaos run',
  'fault-rate': 'the chaos run',
  runs: 'npm run test:safety',
  sets: 'npm run test:safety (the set-layer property) and the benchmark',
  'max-semi-space-size': 'node (V8), in the image entrypoint',
  'experimental-vm-modules': 'node, for jest',
  'expose-gc': 'node, for the import measurements in docs/performance.md',
  'unsafe-no-fsync': 'etcd in the test control plane',
  'advertise-address': 'kube-apiserver in the test control plane',
  branch: 'git clone in the CI examples',
  depth: 'git clone in the CI examples',
  quiet: 'git clone in the CI examples',
  'no-audit': 'npm ci',
  'no-fund': 'npm ci',
  omit: 'npm ci',
  'ignore-scripts': 'npm ci',
  silent: 'npm pack',
  global: 'npm install',
  'reuse-values': 'helm upgrade',
  'data-urlencode': 'curl in the GitLab example',
  fail: 'curl',
  'show-error': 'curl',
  header: 'curl',
  request: 'curl',
  data: 'curl',
  'null-input': 'jq',
  rawfile: 'jq',
  noprofile: 'bash',
  norc: 'bash',
  flag: 'the chart README: a placeholder in "extra --flag=value arguments"',
  'ecs-': 'the "--ecs-* flags" wording',
  no: 'prose such as "--no-..."',
};

describe('flags in the docs exist', () => {
  it('every --flag a user doc names is an operator flag, a validate/plan flag, or another named tool’s', async () => {
    // A renamed or removed flag (the old `metricsPort`, say) must not survive in the docs.
    const known = new Set(['help', ...Object.keys(FLAGS), ...(await cliFlags()), ...Object.keys(OTHER_TOOLS)]);
    const unknown: string[] = [];
    for (const file of await userDocs()) {
      for (const m of (await read(file)).matchAll(/(?:^|[^a-zA-Z0-9-])--([a-z][a-z0-9-]*)/g)) {
        const flag = m[1] ?? '';
        if (!known.has(flag)) unknown.push(`${file}: --${flag}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('a table row that documents an operator flag names a flag the operator has, with its env var', async () => {
    for (const file of await userDocs()) {
      for (const m of (await read(file)).matchAll(/^\| `--([a-z0-9-]+)` \| `([A-Z_]+)` \|/gm)) {
        const flag = FLAGS[m[1] as keyof typeof FLAGS];
        expect({ file, flag: m[1], env: flag?.env }).toEqual({ file, flag: m[1], env: m[2] });
      }
    }
  });

  it('docs/metrics.md names the metrics flag and that 0 turns it off, as --help does', async () => {
    const metrics = await read('docs/metrics.md');
    expect(FLAGS['metrics-bind-address'].help).toContain('"0" = off');
    expect(metrics).toContain('`--metrics-bind-address`');
    expect(metrics).toMatch(/`0` turns metrics off/);
  });
});

/** The body rows of the markdown table whose header row is `header`, as arrays of trimmed cells. */
function tableRows(text: string, header: string): string[][] {
  const lines = (text.split(`${header}\n`)[1] ?? '').split('\n').slice(1); // past the |---| line
  const end = lines.findIndex((l) => !l.startsWith('|'));
  return lines.slice(0, end < 0 ? undefined : end).map((l) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

describe('the README flag table is the operator’s --help', () => {
  // `imageshare-operator --help` (src/main.ts prints helpText()) pairs every flag with its env var: each pair must be
  // one row of the README's table, and the table must have no row for a flag --help does not print.
  const pairs = [...helpText().matchAll(/^ {2}--([a-z0-9-]+)\b.*\n\s+env: ([A-Z_]+)$/gm)].map((m) => [m[1], m[2]]);

  it('--help prints every flag with an env var (a sanity check on the parse)', () => {
    expect(pairs.length).toBe(Object.keys(FLAGS).length);
  });

  it('every flag --help prints has a row with its env var, and every row is a flag --help prints', async () => {
    const rows = tableRows(await read('README.md'), '| Flag | Env | Default | Meaning |').map((c) => [
      /^`--([a-z0-9-]+)`$/.exec(c[0] ?? '')?.[1],
      /^`([A-Z_]+)`$/.exec(c[1] ?? '')?.[1],
    ]);
    expect(rows.sort()).toEqual([...pairs].sort());
  });
});

describe('the README status table is the CRD’s status', () => {
  it('every status field of crds/imageshare.yaml has a row, and every row names a field', async () => {
    const crd = parse(await read('crds/imageshare.yaml'));
    const fields = Object.keys(crd.spec.versions[0].schema.openAPIV3Schema.properties.status.properties).sort();
    const named = tableRows(await read('README.md'), '| Status field | Meaning |')
      .flatMap((c) => [...(c[0] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1] ?? ''))
      .sort();
    expect(fields.length).toBeGreaterThan(5);
    expect(named).toEqual(fields);
  });
});

describe('docs/metrics.md lists the metrics the operator exports', () => {
  it('one row per imageshare_ metric registered by src/runtime/metrics.ts, and no other', async () => {
    const exported = (await new OperatorMetrics({ processMetrics: false }).registry.getMetricsAsJSON())
      .map((m) => m.name)
      .sort();
    const rows = tableRows(await read('docs/metrics.md'), '| Metric | Type | Labels | Meaning |')
      .map((c) => /^`([a-z_]+)`$/.exec(c[0] ?? '')?.[1])
      .sort();
    expect(exported.length).toBeGreaterThan(5);
    expect(rows).toEqual(exported);
  });
});

describe('docs/reasons.md names the client-side codes', () => {
  // Failures on this side of the wire get codes of their own (they show in events and in the ECS call metric's
  // `code` label); test/repo/reasons.test.ts covers the ECS codes, this covers the ones the adapter makes up.
  const reasonsDoc = () => read('docs/reasons.md');
  it.each([
    ['a call past its --ecs-timeout deadline', new RequestBoundError(RequestBoundCode.Deadline, 'late')],
    ['an answer over the size cap', new RequestBoundError(RequestBoundCode.TooLarge, 'huge')],
    ['a 200 carrying an error code', new ErrorInBody('InternalError', 200)],
    ['STS failing for now (roleArn)', new CredentialsProviderError('sts timed out', true)],
    ['no credentials at all', new CredentialsProviderError('refused', false)],
    ['the own rate budget out of time', new BudgetWaitTimeout(500)],
  ])('%s: its code is in the row of its reason, in italics', async (_why, err) => {
    const e = classifyEcsError(err);
    const row = (await reasonsDoc()).split('\n').find((l) => l.startsWith(`| \`${e.reason}\` |`)) ?? '';
    expect({ code: e.code, inRow: row.includes(`*\`${e.code}\`*`) }).toEqual({ code: e.code, inRow: true });
  });
});

describe('docs/emulator.md documents every fault the emulator accepts', () => {
  it('one row of the fault table per fault type, each malformed variant named in its row', async () => {
    const rows = tableRows(await read('docs/emulator.md'), '| Rule | Effect | What the SDK throws |');
    const types = rows.map((c) => /"type":"([A-Za-z0-9]+)"/.exec(c[0] ?? '')?.[1]).sort();
    expect(types).toEqual([...FAULT_TYPES].sort());
    const malformed = rows.find((c) => (c[0] ?? '').includes('"type":"malformed"'))?.[1] ?? '';
    expect(MALFORMED_VARIANTS.filter((v) => !malformed.includes(`\`${v}\``))).toEqual([]);
  });
});

describe('RAM actions in the docs are the ECS actions the code calls', () => {
  /** ECS actions the adapter calls: one `new Ecs.<Action>Request(` per action in src/cloud. */
  async function actionsCalled(): Promise<string[]> {
    const actions = new Set<string>();
    for (const file of await filesUnder('src/cloud', /\.ts$/))
      for (const m of (await read(file)).matchAll(/new Ecs\.([A-Za-z]+)Request\(/g)) actions.add(`ecs:${m[1]}`);
    return [...actions].sort();
  }
  const named = (text: string) => [...new Set([...text.matchAll(/\becs:([A-Z][A-Za-z]+)/g)].map((m) => m[0]))].sort();

  it('finds the five the adapter builds today (a sanity check on the derivation)', async () => {
    expect((await actionsCalled()).length).toBeGreaterThanOrEqual(5);
  });

  it.each([
    ['charts/imageshare-operator/templates/NOTES.txt', 'what helm install prints'],
    ['README.md', 'the quick start and Install'],
  ])('%s names exactly them (%s)', async (file) => {
    expect(named(await read(file))).toEqual(await actionsCalled());
  });

  it('the operations guide’s policy grants exactly them', async () => {
    const ops = await read('docs/operations.md');
    const policy = ops.split('### Minimal RAM policy')[1]?.split('```')[1] ?? '';
    expect(named(policy)).toEqual(await actionsCalled());
  });

  it.each([['docs/ci/github-actions.yaml'], ['docs/ci/gitlab-ci.yaml']])(
    'the read-only plan identity in %s gets exactly the Describe actions',
    async (file) => {
      const reads = (await actionsCalled()).filter((a) => a.startsWith('ecs:Describe'));
      expect(named(await read(file))).toEqual(reads);
    },
  );
});

describe('cited files exist', () => {
  // Files owned by the release pipeline (chart templates and values, deploy/, Dockerfile, workflows) are checked by
  // the release checks; ADRs are history and may name files since removed. Everything else is checked here.
  const RELEASE_OWNED =
    /^(charts\/[^/]+\/(templates\/(?!NOTES\.txt)|values|Chart|files\/)|deploy\/|Dockerfile|\.github\/)/;

  it('every test/… or src/… path a comment or doc cites is in the tree', async () => {
    const files = [
      ...(await filesUnder('src', /\.ts$/)),
      ...(await filesUnder('test', /\.(ts|ya?ml|sh)$/)),
      ...(await filesUnder('docs', /\.(md|ya?ml)$/)),
      ...(await filesUnder('examples', /\.ya?ml$/)),
      ...(await filesUnder('charts', /\.(md|txt|ya?ml)$/)),
      ...(await filesUnder('crds', /\.ya?ml$/)),
      'README.md',
    ].filter((f) => !RELEASE_OWNED.test(f) && !f.startsWith('docs/adr/'));
    const missing: string[] = [];
    for (const file of files) {
      for (const m of (await read(file)).matchAll(/\b((?:test|src)\/[A-Za-z0-9_./-]+\.(?:ts|yaml|sh))\b/g)) {
        const cited = m[1] ?? '';
        if (cited.includes('*') || existsSync(join(ROOT, cited))) continue;
        missing.push(`${file} cites ${cited}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('one Go version', () => {
  it('every Go version the README asks for is the highest go directive of the Go modules npm test builds', async () => {
    const directives = await Promise.all(
      (await filesUnder('test', /^go\.mod$/)).map(async (f) => /^go (\d+\.\d+(?:\.\d+)?)$/m.exec(await read(f))?.[1]),
    );
    const versionKey = (v: string) =>
      v
        .split('.')
        .map((n) => n.padStart(4, '0'))
        .join('.');
    const highest = directives
      .filter((v): v is string => v !== undefined)
      .sort((a, b) => (versionKey(a) < versionKey(b) ? 1 : -1))[0];
    const mentioned = [...(await read('README.md')).matchAll(/\bGo (?:≥ |>= )?(\d+\.\d+(?:\.\d+)?)/g)].map((m) => m[1]);
    expect(mentioned.length).toBeGreaterThan(0);
    expect(new Set(mentioned)).toEqual(new Set([highest]));
  });
});

describe('statements found wrong once', () => {
  it('no example or reason tells the user to change spec.imageId, which is immutable', async () => {
    // The CRD rejects any change of imageId; the fix for a wrong image is a new ImageShare.
    const advice = /(point (the object|imageId|it) at|change (`?spec\.)?imageId|set (`?spec\.)?imageId to)/i;
    const offenders: string[] = [];
    for (const file of [...(await filesUnder('examples', /\.ya?ml$/)), 'docs/reasons.md', 'docs/operations.md'])
      for (const line of (await read(file)).split('\n'))
        if (advice.test(line)) offenders.push(`${file}: ${line.trim()}`);
    expect(offenders).toEqual([]);
    expect(await read('docs/reasons.md')).toContain('`spec.imageId` is immutable');
  });

  it('the Flux docs set no crds policy, since the chart has no crds/ directory (ADR 0004)', async () => {
    expect(existsSync(join(ROOT, 'charts/imageshare-operator/crds'))).toBe(false);
    for (const file of ['docs/flux.md', 'docs/operations.md'])
      expect(await read(file)).not.toMatch(/crds: CreateReplace/);
  });

  it.each([['README.md'], ['docs/operations.md']])('%s documents the force-reconcile annotation', async (file) => {
    expect(await read(file)).toContain(`${RECONCILE_REQUESTED_AT}=`);
  });

  it('docs/performance.md gives one count per object: the current figures are the latest run’s', async () => {
    const perf = await read('docs/performance.md');
    const current = perf.split('## Current figures')[1]?.split('\n## ')[0] ?? '';
    const last = (row: string) => {
      const cells = [...perf.matchAll(new RegExp(`^\\| ${row} \\|.*$`, 'gm'))].at(-1)?.[0] ?? '';
      return Number(
        /\*{0,2}(\d+)(?:\.\d+)?\*{0,2}(?: \/ \d+)?[^|]*\|?\s*$/.exec(cells.split('|').slice(-2, -1)[0] ?? '')?.[1],
      );
    };
    const ecs = Number(/\*\*(\d+) ECS calls\*\*/.exec(current)?.[1]);
    const api = Number(/\*\*(\d+) apiserver requests\*\*/.exec(current)?.[1]);
    expect(ecs).toBe(last('ECS calls per new object \\/ minimum'));
    expect(api).toBe(last('apiserver requests per new object'));
    const goals = perf.split('## Goals not met')[1] ?? '';
    expect(Number(/A new object costs (\d+) requests/.exec(goals)?.[1])).toBe(api);
  });
});
