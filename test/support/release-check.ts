// Release consistency check, run by `npm test` (test/repo/release.test.ts) and by .github/workflows/release.yml before
// anything is published. One version (package.json) must be the chart's version and appVersion, the image tag the
// chart and the kustomize base deploy, and a dated CHANGELOG section; the image name comes from package.json's
// repository (ghcr.io/<owner>/imageshare-operator). Base images and workflow actions must be pinned by digest/SHA.
//
// Usage: node test/support/release-check.ts [--tag vX.Y.Z] [--notes FILE] [--github-output FILE]
//   --tag            also require the git tag to be v<package.json version>
//   --notes          write that version's CHANGELOG section (the GitHub release body) to FILE
//   --github-output  append version=, image=, chart_repo= lines for later workflow steps
// Exits 1 listing every problem found; prints the facts it checked otherwise.
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const DIGEST_PIN = /@sha256:[0-9a-f]{64}$/;

export interface ReleaseFacts {
  version: string;
  /** github.com/<owner>/<repo>, from package.json repository.url. */
  repository: string;
  /** ghcr.io/<owner>/imageshare-operator: where the release workflow pushes the image. */
  image: string;
  /** oci://ghcr.io/<owner>/charts: where it pushes the chart. */
  chartRepo: string;
}

interface PackageJson {
  name?: string;
  version?: string;
  repository?: { url?: string } | string;
}

const read = (root: string, path: string): Promise<string> => readFile(join(root, path), 'utf8');

/** The facts every other file must agree with, or a problem list when package.json itself is unusable. */
export async function releaseFacts(root: string): Promise<ReleaseFacts | string[]> {
  const pkg = JSON.parse(await read(root, 'package.json')) as PackageJson;
  const problems: string[] = [];
  const version = pkg.version ?? '';
  if (!SEMVER.test(version)) problems.push(`package.json version ${JSON.stringify(version)} is not semver`);
  const url = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository?.url ?? '');
  const m = /github\.com[/:]([^/]+)\/([^/.]+)(?:\.git)?$/.exec(url);
  if (!m?.[1] || !m[2]) {
    problems.push(
      `package.json repository.url ${JSON.stringify(url)} is not a GitHub repository (npm provenance needs it)`,
    );
    return problems;
  }
  if (problems.length > 0) return problems;
  const owner = m[1].toLowerCase();
  return {
    version,
    repository: `github.com/${m[1]}/${m[2]}`,
    image: `ghcr.io/${owner}/imageshare-operator`,
    chartRepo: `oci://ghcr.io/${owner}/charts`,
  };
}

/** The body of CHANGELOG.md's `## [version] - YYYY-MM-DD` section, or undefined when there is none. */
export function changelogSection(changelog: string, version: string): string | undefined {
  const lines = changelog.split('\n');
  const escaped = version.replaceAll('.', '\\.');
  const start = lines.findIndex((l) => new RegExp(`^## \\[${escaped}\\] - \\d{4}-\\d{2}-\\d{2}\\s*$`).test(l));
  if (start < 0) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('## ') || /^\[[^\]]+\]: /.test(l));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
}

interface ChartYaml {
  version?: string;
  appVersion?: string;
  annotations?: Record<string, string>;
}

async function chartProblems(root: string, f: ReleaseFacts): Promise<string[]> {
  const problems: string[] = [];
  const chart = parse(await read(root, 'charts/imageshare-operator/Chart.yaml')) as ChartYaml;
  if (chart.version !== f.version) problems.push(`Chart.yaml version ${chart.version} != package.json ${f.version}`);
  if (chart.appVersion !== f.version)
    problems.push(`Chart.yaml appVersion ${chart.appVersion} != package.json ${f.version}`);
  const images = parse(chart.annotations?.['artifacthub.io/images'] ?? '[]') as Array<{ image?: string }>;
  const want = `${f.image}:${f.version}`;
  if (!images.some((i) => i.image === want))
    problems.push(`Chart.yaml annotation artifacthub.io/images does not list ${want}`);
  const values = parse(await read(root, 'charts/imageshare-operator/values.yaml')) as {
    image?: { repository?: string; tag?: string };
  };
  if (values.image?.repository !== f.image)
    problems.push(`values.yaml image.repository ${values.image?.repository} != ${f.image}`);
  if (values.image?.tag !== '' && values.image?.tag !== f.version)
    problems.push(`values.yaml image.tag ${values.image?.tag} is neither empty (appVersion) nor ${f.version}`);
  return problems;
}

interface KustomizeImage {
  name?: string;
  newName?: string;
}

async function kustomizeProblems(root: string, f: ReleaseFacts): Promise<string[]> {
  const problems: string[] = [];
  const deployment = parse(await read(root, 'deploy/base/deployment.yaml')) as {
    spec?: { template?: { spec?: { containers?: Array<{ image?: string }> } } };
  };
  const image = deployment.spec?.template?.spec?.containers?.[0]?.image;
  if (image !== `${f.image}:${f.version}`)
    problems.push(`deploy/base/deployment.yaml image ${image} != ${f.image}:${f.version}`);
  const overlay = parse(await read(root, 'deploy/overlays/rrsa/kustomization.yaml')) as { images?: KustomizeImage[] };
  for (const i of overlay.images ?? [])
    if (i.name !== f.image)
      problems.push(
        `deploy/overlays/rrsa/kustomization.yaml images name ${i.name} does not match the base's ${f.image}`,
      );
  return problems;
}

async function changelogProblems(root: string, f: ReleaseFacts, notesOut?: string): Promise<string[]> {
  const text = await read(root, 'CHANGELOG.md').catch(() => undefined);
  if (text === undefined) return ['CHANGELOG.md is missing'];
  const problems: string[] = [];
  if (!/^## \[Unreleased\]\s*$/m.test(text)) problems.push('CHANGELOG.md has no "## [Unreleased]" section');
  const section = changelogSection(text, f.version);
  if (section === undefined) problems.push(`CHANGELOG.md has no "## [${f.version}] - YYYY-MM-DD" section`);
  else if (section === '') problems.push(`CHANGELOG.md section ${f.version} is empty`);
  else if (notesOut !== undefined) await writeFile(notesOut, `${section}\n`);
  return problems;
}

/** Every FROM (after ARG substitution) must name an image by digest. */
export function unpinnedFroms(dockerfile: string): string[] {
  const args = new Map<string, string>();
  const out: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)/.exec(line);
    if (arg?.[1] && arg[2]) args.set(arg[1], arg[2]);
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)/i.exec(line);
    if (!from?.[1]) continue;
    const ref = from[1].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => args.get(name) ?? '');
    const stage = /\sAS\s+(\S+)/i.exec(line)?.[1];
    if (!DIGEST_PIN.test(ref) && !(stage !== undefined && ref === stage)) out.push(from[1]);
  }
  return out;
}

/** `uses:` lines in the workflows that do not name a full commit SHA (local `./` actions are fine). */
export async function unpinnedActions(root: string): Promise<string[]> {
  const dir = join(root, '.github/workflows');
  const out: string[] = [];
  const files = await readdir(dir).catch(() => []);
  if (files.length === 0) return ['.github/workflows has no workflows'];
  for (const file of files.filter((n) => /\.ya?ml$/.test(n)).sort()) {
    for (const m of (await readFile(join(dir, file), 'utf8')).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)) {
      const ref = m[1] ?? '';
      if (ref.startsWith('./')) continue;
      if (!/@[0-9a-f]{40}$/.test(ref) || !/#\s*v\d/.test(m[2] ?? '')) out.push(`${file}: ${ref}${m[2] ?? ''}`);
    }
  }
  return out;
}

export interface CheckOptions {
  tag?: string;
  notesOut?: string;
}

/** Every problem that would make a release inconsistent; empty when the repository is releasable as it is. */
export async function checkRelease(root: string, opts: CheckOptions = {}): Promise<string[]> {
  const facts = await releaseFacts(root);
  if (Array.isArray(facts)) return facts;
  const problems = [
    ...(await chartProblems(root, facts)),
    ...(await kustomizeProblems(root, facts)),
    ...(await changelogProblems(root, facts, opts.notesOut)),
    ...unpinnedFroms(await read(root, 'Dockerfile')).map((r) => `Dockerfile: FROM ${r} is not pinned by digest`),
    ...(await unpinnedActions(root)).map((u) => `not pinned to a commit SHA with a # vX comment: ${u}`),
  ];
  if (opts.tag !== undefined && opts.tag !== `v${facts.version}`)
    problems.push(`tag ${opts.tag} != v${facts.version} (package.json)`);
  return problems;
}

async function main(argv: string[]): Promise<number> {
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes('--help')) {
    console.log('Usage: node test/support/release-check.ts [--tag vX.Y.Z] [--notes FILE] [--github-output FILE]');
    return 0;
  }
  const tag = opt('--tag');
  const notesOut = opt('--notes');
  const problems = await checkRelease(REPO_ROOT, {
    ...(tag !== undefined ? { tag } : {}),
    ...(notesOut !== undefined ? { notesOut } : {}),
  });
  if (problems.length > 0) {
    for (const p of problems) console.error(`release-check: ${p}`);
    return 1;
  }
  const facts = (await releaseFacts(REPO_ROOT)) as ReleaseFacts;
  const ghOut = opt('--github-output');
  if (ghOut !== undefined)
    await appendFile(ghOut, `version=${facts.version}\nimage=${facts.image}\nchart_repo=${facts.chartRepo}\n`);
  console.log(
    `release-check: ${facts.version} consistent (image ${facts.image}:${facts.version}, chart ${facts.chartRepo})`,
  );
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
