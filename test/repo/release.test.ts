// What a release needs that can be checked here (the workflow itself runs only on GitHub's hosted runner): the
// versions in step (test/support/release-check.ts, which the release workflow also runs), `helm package` of the
// chart, and the npm tarball's contents.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { CHART_DIR, helm, runTool } from '../harness/helm.ts';
import { runProcess } from '../harness/run-process.ts';
import { changelogSection, checkRelease, REPO_ROOT } from '../support/release-check.ts';

/** A copy of the files release-check reads, with `path` edited by `edit`. */
async function copyWith(path: string, edit: (text: string) => string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'release-check-'));
  for (const p of ['package.json', 'CHANGELOG.md', 'Dockerfile', 'charts', 'deploy', '.github'])
    await cp(join(REPO_ROOT, p), join(dir, p), { recursive: true });
  await writeFile(join(dir, path), edit(await readFile(join(dir, path), 'utf8')));
  return dir;
}

describe('release-check', () => {
  it('finds the repository releasable as it is', async () => {
    expect(await checkRelease(REPO_ROOT)).toEqual([]);
  });

  it.each([
    [
      'the chart version moved alone: the chart and the package would be released under different versions',
      'charts/imageshare-operator/Chart.yaml',
      (t: string) => t.replace(/^version: .*$/m, 'version: 9.9.9'),
      'Chart.yaml version 9.9.9',
    ],
    [
      'appVersion is the image tag the chart deploys: it must be the image this release pushes',
      'charts/imageshare-operator/Chart.yaml',
      (t: string) => t.replace(/^appVersion: .*$/m, 'appVersion: "0.0.9"'),
      'Chart.yaml appVersion 0.0.9',
    ],
    [
      'the kustomize base must deploy the image this release pushes',
      'deploy/base/deployment.yaml',
      (t: string) => t.replace(/image: (\S+):\S+/, 'image: $1:0.0.9'),
      'deploy/base/deployment.yaml image',
    ],
    [
      'values.yaml must name the image the workflow pushes, not a local build',
      'charts/imageshare-operator/values.yaml',
      (t: string) => t.replace(/repository: ghcr\.io\S+/, 'repository: imageshare-operator'),
      'values.yaml image.repository imageshare-operator',
    ],
    [
      'the GitHub release body comes from the version section of the CHANGELOG',
      'CHANGELOG.md',
      (t: string) => t.replace(/^## \[0\.1\.0\].*$/m, '## 0.1.0'),
      'no "## [0.1.0] - YYYY-MM-DD" section',
    ],
    [
      'a base image by tag can change under the same Dockerfile',
      'Dockerfile',
      (t: string) => t.replace(/(nodejs24-debian12:nonroot)@sha256:[0-9a-f]+/, '$1'),
      'FROM gcr.io/distroless/nodejs24-debian12:nonroot is not pinned',
    ],
    [
      'a tag of an action can be moved to other code; a commit SHA cannot',
      '.github/workflows/ci.yml',
      (t: string) => t.replace(/actions\/checkout@[0-9a-f]{40}/, 'actions/checkout@v7'),
      'actions/checkout@v7',
    ],
  ])('fails where it matters: %s', async (_why, path, edit, expected) => {
    const problems = await checkRelease(await copyWith(path, edit));
    expect(problems.filter((p) => p.includes(expected))).toHaveLength(1);
  });

  it('requires the tag to be v<package.json version>', async () => {
    expect(await checkRelease(REPO_ROOT, { tag: 'v0.0.1' })).toEqual(['tag v0.0.1 != v0.1.0 (package.json)']);
  });

  it("writes the version's CHANGELOG section as release notes", async () => {
    const changelog = await readFile(join(REPO_ROOT, 'CHANGELOG.md'), 'utf8');
    const section = changelogSection(changelog, '0.1.0') ?? '';
    expect(section).toMatch(/^First version/);
    expect(section).not.toMatch(/^## /m);
    expect(section).not.toContain('[Unreleased]:');
  });
});

describe('helm package', () => {
  it('packages the chart as imageshare-operator-<version>.tgz with the dashboard, icon and test hook', async () => {
    const out = await mkdtemp(join(tmpdir(), 'chart-'));
    const r = await helm(['package', CHART_DIR, '--destination', out]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const tgz = join(out, `imageshare-operator-${pkg.version}.tgz`);
    const list = await runTool('tar', ['-tzf', tgz]);
    const files = list.stdout.split('\n').filter((f) => f !== '');
    for (const f of [
      'Chart.yaml',
      'values.yaml',
      'values.schema.json',
      'icon.svg',
      'dashboards/imageshare.json',
      'files/crds/imageshare.yaml',
      'templates/tests/operator-ready.yaml',
    ])
      expect(files).toContain(`imageshare-operator/${f}`);
  });
});

describe('npm pack', () => {
  it('lists only dist/, the files the CLI users need, README, LICENSE and package.json', async () => {
    // --dry-run --ignore-scripts lists what `files` selects without building; dist/ is whatever is built now.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const r = await runProcess('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, env });
    expect(r.code).toBe(0);
    const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ files: Array<{ path: string }> }>;
    const files = (info?.files ?? []).map((f) => f.path);
    const allowed = /^(dist\/|crds\/|schemas\/|docs\/argocd\/|docs\/ci\/|README\.md$|LICENSE$|package\.json$)/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'crds/imageshare.yaml']));
    expect(files.filter((f) => /\.test\.(js|ts)$|^dist\/.*\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });
});

describe('paths cited in the release files', () => {
  it('every repository path named in the chart, deploy/, Dockerfile, workflows and project files exists', async () => {
    const files = [
      ...(await runTool('git', ['-C', REPO_ROOT, 'ls-files', 'charts', 'deploy', '.github'])).stdout.split('\n'),
      'Dockerfile',
      'CONTRIBUTING.md',
      'SECURITY.md',
      'CHANGELOG.md',
    ].filter((f) => f !== '' && !f.endsWith('.svg'));
    const cited = /(?<![\w/.-])((?:test|docs|src|deploy|charts|crds)\/[A-Za-z0-9_./-]+\.(?:ts|md|yaml|json|sh|lua))/g;
    const missing: string[] = [];
    for (const f of files) {
      const text = await readFile(join(REPO_ROOT, f), 'utf8');
      for (const m of text.matchAll(cited)) {
        const path = m[1] as string;
        if (
          !(await readFile(join(REPO_ROOT, path)).then(
            () => true,
            () => false,
          ))
        )
          missing.push(`${f}: ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

interface WorkflowStep {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Workflow {
  on: { push?: { tags?: string[] } };
  jobs: Record<string, { needs?: string[]; permissions?: Record<string, string>; steps: WorkflowStep[] }>;
}

describe('release workflow promises (what actionlint cannot know)', () => {
  const workflow = async (): Promise<Workflow> =>
    parse(await readFile(join(REPO_ROOT, '.github/workflows/release.yml'), 'utf8')) as Workflow;
  const steps = (w: Workflow) => Object.entries(w.jobs).flatMap(([job, j]) => j.steps.map((s) => ({ job, ...s })));

  it('builds the Dockerfile for amd64 and arm64 with an SBOM, passing only build args the Dockerfile declares', async () => {
    const build = steps(await workflow()).find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with?.platforms).toBe('linux/amd64,linux/arm64');
    expect(String(build?.with?.sbom)).toBe('true');
    const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const declared = new Set([...dockerfile.matchAll(/^ARG (\w+)/gm)].map((m) => m[1]));
    const passed = String(build?.with?.['build-args'] ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split('=')[0]?.trim());
    expect(passed.length).toBeGreaterThan(0);
    expect(passed.filter((a) => !declared.has(a))).toEqual([]);
  });

  it('signs with cosign only in jobs that may mint an OIDC token, and publishes npm with provenance', async () => {
    const w = await workflow();
    const signing = steps(w).filter((s) => /cosign (sign|attest)/.test(s.run ?? ''));
    expect(new Set(signing.map((s) => s.job))).toEqual(new Set(['image', 'chart']));
    for (const s of signing) expect(w.jobs[s.job]?.permissions?.['id-token']).toBe('write');
    const publish = steps(w).find((s) => /npm publish/.test(s.run ?? ''));
    expect(publish?.run).toContain('--provenance');
    expect(w.jobs[publish?.job ?? '']?.permissions?.['id-token']).toBe('write');
  });

  it('publishes nothing before the release check and the whole suite passed', async () => {
    const w = await workflow();
    const needs = (job: string): string[] => {
      const direct = w.jobs[job]?.needs ?? [];
      return [...direct, ...direct.flatMap(needs)];
    };
    for (const job of ['image', 'chart', 'npm', 'github-release'])
      expect({ job, needs: ['check', 'test'].every((n) => needs(job).includes(n)) }).toEqual({ job, needs: true });
    const check = steps(w).find((s) => s.job === 'check' && s.run?.includes('test/support/release-check.ts'));
    expect(check?.run).toContain('--tag "$GITHUB_REF_NAME"');
    expect(w.on.push?.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+*']);
  });
});
