// The CI examples in docs/ci/ run as written: this test takes the exact validate and plan commands from the GitHub
// Actions workflow and the GitLab CI job, runs them with bash on a manifests directory, with `imageshare-operator`
// on PATH (this checkout's CLI; the examples install the npm package) and the identity and endpoint pointed at the
// ECS emulator through the same environment variables a CI job would set.
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { runProcess } from '../harness/run-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OWNER = '1000000000000001';
const KEY = { accessKeyId: 'LTAItestCiExample01', accessKeySecret: 'test-only-ci-example-secret' };
const A = ['2000000000000001', '2000000000000002', '2000000000000003'];

interface GithubWorkflow {
  jobs: Record<string, { env?: Record<string, string>; steps: Array<{ name?: string; run?: string; uses?: string }> }>;
}
interface GitlabJob {
  variables?: Record<string, string>;
  before_script?: string[];
  script: string[];
}

let emu: Emulator;
let work: string;
let binDir: string;

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      owners: [{ id: OWNER, site: 'international', keys: [KEY] }],
      accounts: A.map((id) => ({ id, site: 'international' as const })),
      regions: [{ id: 'cn-hangzhou', community: true }],
      images: [
        { id: 'm-ciexample001', region: 'cn-hangzhou', owner: OWNER, name: 'golden', sharedWith: [A[2] ?? ''] },
        { id: 'm-ciexample002', region: 'cn-hangzhou', owner: OWNER, name: 'base' },
      ],
    },
  });
  work = await mkdtemp(join(tmpdir(), 'imageshare-ci-'));
  binDir = join(work, 'bin');
  await mkdir(binDir);
  // The examples install the published package; here the same bin runs from this checkout under Node 24.
  const shim = join(binDir, 'imageshare-operator');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'src/main.ts')}" "$@"\n`);
  await chmod(shim, 0o755);
});
afterAll(async () => {
  await emu?.close();
});

const share = (name: string, spec: Record<string, unknown>) =>
  stringify({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: 'platform-images' },
    spec: { regionId: 'cn-hangzhou', ...spec },
  });

/** A repository checkout with `files` under clusters/prod/images (the MANIFESTS both examples default to). */
async function checkout(name: string, files: Record<string, string>): Promise<string> {
  const repo = join(work, name);
  const dir = join(repo, 'clusters/prod/images');
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  return repo;
}

/** The environment a CI job has: its own variables, then the secrets (here: the emulator's key and endpoint). */
function ciEnv(vars: Record<string, string>, repo: string): NodeJS.ProcessEnv {
  return {
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    HOME: work,
    ...Object.fromEntries(Object.entries(vars).filter(([, v]) => !v.includes('${{'))),
    ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
    IMAGESHARE_ECS_ENDPOINT: emu.endpoint,
    IMAGESHARE_ECS_PROTOCOL: 'http',
    GITHUB_STEP_SUMMARY: join(repo, 'step-summary.md'),
  };
}

async function githubSteps(): Promise<{ env: Record<string, string>; steps: Map<string, string> }> {
  const wf = parse(await readFile(join(ROOT, 'docs/ci/github-actions.yaml'), 'utf8')) as GithubWorkflow;
  const job = Object.values(wf.jobs)[0];
  if (!job) throw new Error('the workflow has no job');
  return {
    env: job.env ?? {},
    steps: new Map(job.steps.flatMap((s) => (s.name && s.run ? [[s.name, s.run] as const] : []))),
  };
}

/** Runs one `run:` block as GitHub does (bash -eo pipefail), in the checkout. */
function runGithubStep(script: string, env: NodeJS.ProcessEnv, cwd: string) {
  return runProcess('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    env,
    cwd,
    timeoutMs: 60_000,
  });
}

const GOOD = {
  'golden.yaml': share('golden', { imageId: 'm-ciexample001', accounts: [A[0], A[1]] }),
  'base.yaml': share('base', { imageId: 'm-ciexample002', accounts: [A[0]] }),
};
const DUPLICATE = {
  'golden.yaml': share('golden', { imageId: 'm-ciexample001', accounts: [A[0]] }),
  'golden-copy.yaml': share('another', { imageId: 'm-ciexample001', accounts: [A[1]] }),
};

describe('docs/ci/github-actions.yaml', () => {
  it('Validate passes and Plan writes the Markdown table to plan.md and the job summary, reading ECS only', async () => {
    const { env, steps } = await githubSteps();
    const repo = await checkout('gh-good', GOOD);
    const e = ciEnv(env, repo);
    await emu.admin.clearCalls();
    const validate = await runGithubStep(steps.get('Validate') ?? 'false', e, repo);
    expect({ code: validate.code, err: validate.stderr }).toEqual({ code: 0, err: '' });
    const plan = await runGithubStep(steps.get('Plan') ?? 'false', e, repo);
    expect({ code: plan.code, err: plan.stderr }).toEqual({ code: 0, err: '' });
    const md = await readFile(join(repo, 'plan.md'), 'utf8');
    expect(md).toContain(`| \`platform-images/golden\` | ${A[0]}, ${A[1]} | ${A[2]} | — | — | default identity |`);
    expect(md).toContain(`| \`platform-images/base\` | ${A[0]} | — | — | — | default identity |`);
    expect(await readFile(join(repo, 'step-summary.md'), 'utf8')).toBe(md);
    expect((await emu.admin.calls()).counts.byAction.ModifyImageSharePermission).toBeUndefined();
  });

  it('Validate fails the check on two files claiming one image, naming both and the owner', async () => {
    const { env, steps } = await githubSteps();
    const repo = await checkout('gh-dup', DUPLICATE);
    const r = await runGithubStep(steps.get('Validate') ?? 'false', ciEnv(env, repo), repo);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ platform-images/golden (clusters/prod/images/golden.yaml)');
    expect(r.stdout).toContain('is also claimed by platform-images/another in clusters/prod/images/golden-copy.yaml');
  });
});

describe('docs/ci/gitlab-ci.yaml', () => {
  async function job(): Promise<GitlabJob> {
    const doc = parse(await readFile(join(ROOT, 'docs/ci/gitlab-ci.yaml'), 'utf8')) as Record<string, GitlabJob>;
    const j = doc.imageshare;
    if (!j) throw new Error('no imageshare job');
    return j;
  }
  /** The script lines as the runner runs them: one shell, stopping at the first failing line. */
  const runScript = (lines: readonly string[], env: NodeJS.ProcessEnv, cwd: string) =>
    runProcess('bash', ['--noprofile', '--norc', '-e', '-c', lines.join('\n')], { env, cwd, timeoutMs: 60_000 });

  it('script validates, then prints the plan table and keeps it in plan.md', async () => {
    const j = await job();
    expect(j.before_script).toEqual(['npm install --global imageshare-operator@0.1.0']);
    const repo = await checkout('gl-good', GOOD);
    const r = await runScript(j.script, ciEnv(j.variables ?? {}, repo), repo);
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: '' });
    expect(r.stdout).toContain('2 valid, 0 invalid');
    expect(r.stdout).toContain(`| \`platform-images/golden\` | ${A[0]}, ${A[1]} | ${A[2]} |`);
    expect(await readFile(join(repo, 'plan.md'), 'utf8')).toContain(
      '| Object | Grant | Revoke | Community | Blockers | Credentials |',
    );
  });

  it('script stops at validate when two files claim one image (no plan is made)', async () => {
    const j = await job();
    const repo = await checkout('gl-dup', DUPLICATE);
    await emu.admin.clearCalls();
    const r = await runScript(j.script, ciEnv(j.variables ?? {}, repo), repo);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('DuplicateImageShare');
    expect((await emu.admin.calls()).calls).toEqual([]);
  });
});
