// The CI examples in docs/ci/ run as written: this test takes the exact validate and plan commands from the GitHub
// Actions workflow and the GitLab CI job, runs them with bash on a manifests directory, with `imageshare-operator`
// on PATH (this checkout's CLI, which is what the examples build from the repository until a release exists) and
// the identity and endpoint pointed at the ECS emulator through the same environment variables a CI job would set.
// The comment steps run verbatim with curl against a stand-in for the GitHub and GitLab APIs, twice, to show that a
// second push edits the one comment instead of adding another.
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

interface GithubStep {
  name?: string;
  run?: string;
  uses?: string;
  env?: Record<string, string>;
}
interface GithubWorkflow {
  jobs: Record<string, { env?: Record<string, string>; steps: GithubStep[] }>;
}
interface GitlabJob {
  variables?: Record<string, string>;
  before_script?: string[];
  script: string[];
  after_script?: string[];
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
  // The examples build the CLI from the repository; here the same bin runs from this checkout under Node 24.
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

/** GitLab script lines as the runner runs them: one shell, stopping at the first failing line. */
const runScript = (lines: readonly string[], env: NodeJS.ProcessEnv, cwd: string) =>
  runProcess('bash', ['--noprofile', '--norc', '-e', '-c', lines.join('\n')], { env, cwd, timeoutMs: 60_000 });

describe('docs/ci/gitlab-ci.yaml', () => {
  const job = gitlabJob;

  it('script validates, then prints the plan table and keeps it in plan.md', async () => {
    const j = await job();
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

describe('installing the CLI: from the repository until a release exists', () => {
  // No package or image is published yet; an example that installs one fails on its first line. Each example must
  // clone the repository at a pinned ref, build it (npm pack runs prepack → build) and install that tarball, the
  // path test/integration/packaging.test.ts proves by installing the packed tarball into an empty directory.
  const fromRepository = [
    /git clone --quiet --depth 1 --branch "\$IMAGESHARE_REF" "\$IMAGESHARE_REPO" /,
    /npm ci --no-audit --no-fund/,
    /npm install --global "\$PWD\/\$\(npm pack --silent\)"/,
  ];

  it('GitHub Actions: the install step builds from IMAGESHARE_REPO at IMAGESHARE_REF, never from a registry', async () => {
    const { env, steps } = await githubSteps();
    const install = [...steps.entries()].find(([name]) => name.startsWith('Install'))?.[1] ?? '';
    for (const line of fromRepository) expect(install).toMatch(line);
    expect(install).not.toMatch(/npm install --global imageshare-operator/);
    expect(env).toMatchObject({
      IMAGESHARE_REPO: expect.stringMatching(/^https:\/\/.+\.git$/),
      IMAGESHARE_REF: 'main',
    });
  });

  it('GitLab CI: before_script does the same', async () => {
    const j = await gitlabJob();
    const install = (j.before_script ?? []).join('\n');
    for (const line of fromRepository) expect(install).toMatch(line);
    expect(install).not.toMatch(/npm install --global imageshare-operator/);
    expect(j.variables).toMatchObject({ IMAGESHARE_REPO: expect.stringMatching(/^https:\/\/.+\.git$/) });
  });
});

/** A stand-in for the comment APIs: GitHub issue comments and GitLab merge-request notes, in memory. */
interface FakeComment {
  id: number;
  body: string;
  user: string;
}
interface CommentApi {
  url: string;
  comments: FakeComment[];
  requests: Array<{ method: string; path: string; auth: string }>;
  close(): Promise<void>;
}

/** The stand-in's answer to one request: [status, JSON body]. */
function route(
  comments: FakeComment[],
  method: string,
  path: string,
  page: number,
  body: () => string,
): [number, string] {
  const list = /\/(comments|notes)$/.test(path);
  const one = /\/(comments|notes)\/(\d+)$/.exec(path);
  if (method === 'GET' && list) return [200, JSON.stringify(page === 1 ? comments : [])];
  if (method === 'POST' && list) {
    comments.push({ id: 100 + comments.length, body: body(), user: 'ci' });
    return [201, '{}'];
  }
  const c = one ? comments.find((x) => x.id === Number(one[2])) : undefined;
  if ((method === 'PATCH' || method === 'PUT') && c) {
    c.body = body();
    return [200, '{}'];
  }
  return [404, '{}'];
}

async function commentApi(): Promise<CommentApi> {
  const comments: FakeComment[] = [{ id: 7, body: 'Looks good to me', user: 'reviewer' }];
  const requests: CommentApi['requests'] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => {
      raw += d.toString('utf8');
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const auth = String(req.headers.authorization ?? req.headers['private-token'] ?? '');
      requests.push({ method: req.method ?? '', path: url.pathname, auth });
      // GitHub sends JSON {body}; GitLab's --data-urlencode sends a form.
      const body = () =>
        req.headers['content-type']?.includes('x-www-form-urlencoded')
          ? (new URLSearchParams(raw).get('body') ?? '')
          : String((JSON.parse(raw) as { body?: unknown }).body);
      const page = Number(url.searchParams.get('page') ?? '1');
      const [status, text] = route(comments, req.method ?? '', url.pathname, page, body);
      res.statusCode = status;
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    comments,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function gitlabJob(): Promise<GitlabJob> {
  const doc = parse(await readFile(join(ROOT, 'docs/ci/gitlab-ci.yaml'), 'utf8')) as Record<string, GitlabJob>;
  const j = doc.imageshare;
  if (!j) throw new Error('no imageshare job');
  return j;
}

describe('one sticky plan comment per pull request', () => {
  it('GitHub Actions: the first push creates the comment, the next edits it; other comments are left alone', async () => {
    const wf = parse(await readFile(join(ROOT, 'docs/ci/github-actions.yaml'), 'utf8')) as GithubWorkflow;
    const job = Object.values(wf.jobs)[0];
    const step = job?.steps.find((s) => s.name?.startsWith('Comment'));
    if (!step?.run) throw new Error('no comment step');
    const { env, steps } = await githubSteps();
    const api = await commentApi();
    try {
      const repo = await checkout('gh-sticky', GOOD);
      const e = {
        ...ciEnv(env, repo),
        GITHUB_API_URL: api.url,
        GITHUB_REPOSITORY: 'acme/platform',
        GH_TOKEN: 'test-token',
        PR: '42',
      };
      for (const push of [1, 2]) {
        const plan = await runGithubStep(steps.get('Plan') ?? 'false', e, repo);
        expect(plan.code).toBe(0);
        if (push === 2)
          await writeFile(join(repo, 'plan.md'), `${await readFile(join(repo, 'plan.md'), 'utf8')}push 2\n`);
        const r = await runGithubStep(step.run, e, repo);
        expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: '' });
      }
      const ours = api.comments.filter((c) => c.user === 'ci');
      expect(ours).toHaveLength(1);
      expect(ours[0]?.body).toMatch(/^<!-- imageshare-operator plan -->\n### imageshare-operator plan\n/);
      expect(ours[0]?.body).toContain('push 2');
      expect(api.comments.find((c) => c.id === 7)?.body).toBe('Looks good to me');
      // First push: page 1 holds only the reviewer's comment, page 2 is empty, so it creates ours; then it finds it.
      expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /repos/acme/platform/issues/42/comments',
        'GET /repos/acme/platform/issues/42/comments',
        'POST /repos/acme/platform/issues/42/comments',
        'GET /repos/acme/platform/issues/42/comments',
        `PATCH /repos/acme/platform/issues/comments/${ours[0]?.id}`,
      ]);
      expect(new Set(api.requests.map((r) => r.auth))).toEqual(new Set(['Bearer test-token']));
    } finally {
      await api.close();
    }
  });

  it('GitLab CI: after_script creates the note once and edits it on the next push', async () => {
    const j = await gitlabJob();
    const api = await commentApi();
    try {
      const repo = await checkout('gl-sticky', GOOD);
      const e = {
        ...ciEnv(j.variables ?? {}, repo),
        CI_API_V4_URL: `${api.url}/api/v4`,
        CI_PROJECT_ID: '9',
        CI_MERGE_REQUEST_IID: '5',
        IMAGESHARE_NOTE_TOKEN: 'test-token',
      };
      for (const push of [1, 2]) {
        const script = await runScript(j.script, e, repo);
        expect(script.code).toBe(0);
        if (push === 2)
          await writeFile(join(repo, 'plan.md'), `${await readFile(join(repo, 'plan.md'), 'utf8')}push 2\n`);
        const r = await runScript(j.after_script ?? [], e, repo);
        expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: '' });
      }
      const ours = api.comments.filter((c) => c.user === 'ci');
      expect(ours).toHaveLength(1);
      expect(ours[0]?.body).toMatch(/^<!-- imageshare-operator plan -->\n/);
      expect(ours[0]?.body).toContain('push 2');
      expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /api/v4/projects/9/merge_requests/5/notes',
        'POST /api/v4/projects/9/merge_requests/5/notes',
        'GET /api/v4/projects/9/merge_requests/5/notes',
        `PUT /api/v4/projects/9/merge_requests/5/notes/${ours[0]?.id}`,
      ]);
    } finally {
      await api.close();
    }
  });

  it('GitLab CI: without IMAGESHARE_NOTE_TOKEN nothing is posted and the job does not fail', async () => {
    const j = await gitlabJob();
    const repo = await checkout('gl-no-token', GOOD);
    const r = await runScript(j.after_script ?? [], ciEnv(j.variables ?? {}, repo), repo);
    expect(r.code).toBe(0);
  });
});
