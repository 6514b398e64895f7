// The GitHub Actions workflows judged by actionlint (built from its Go module by test/support/go/build.sh): syntax,
// expressions, job outputs and `needs`, permissions, runner labels, and the inputs of the actions it knows. The
// workflows cannot run here (no runner, no registry, no OIDC); this is what can be checked before a tag is pushed.
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { GoHelper, goHelperPath } from '../harness/go-helpers.ts';
import { runProcess } from '../harness/run-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface LintError {
  message: string;
  filepath: string;
  line: number;
  kind: string;
}

/** actionlint over `dir`'s .github/workflows, as JSON errors (empty when clean). */
async function actionlint(dir: string): Promise<LintError[]> {
  const bin = await goHelperPath(GoHelper.Actionlint);
  // Files named explicitly: actionlint otherwise looks for a git repository, and the edited copies are not one.
  const files = (await readdir(join(dir, '.github/workflows'))).map((f) => join('.github/workflows', f));
  const r = await runProcess(bin, ['-format', '{{json .}}', '-no-color', ...files], { cwd: dir, timeoutMs: 60_000 });
  if (r.code !== 0 && r.code !== 1) throw new Error(`actionlint exited with ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim() || '[]') as LintError[];
}

/** A copy of the repository's .github in a fresh directory, with `release.yml` edited by `edit`. */
async function withEditedRelease(edit: (text: string) => string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'actionlint-'));
  await cp(join(ROOT, '.github'), join(dir, '.github'), { recursive: true });
  const file = join(dir, '.github/workflows/release.yml');
  await writeFile(file, edit(await readFile(file, 'utf8')));
  return dir;
}

describe('actionlint', () => {
  it('finds nothing in .github/workflows', async () => {
    expect((await actionlint(ROOT)).map((e) => `${e.filepath}:${e.line} ${e.kind}: ${e.message}`)).toEqual([]);
  });

  it.each([
    [
      'a job output that no job defines',
      (t: string) => t.replace('needs.check.outputs.chart_repo }}', 'needs.check.outputs.chart_repository }}'),
      'chart_repository',
    ],
    [
      'a needs on a job that does not exist',
      (t: string) => t.replace('needs: [check, image, chart, npm]', 'needs: [check, image, chart, pypi]'),
      'pypi',
    ],
    ['an unknown permission scope', (t: string) => t.replace('id-token: write', 'oidc-token: write'), 'oidc-token'],
  ])('catches %s (the check is live)', async (_why, edit, named) => {
    const errors = await actionlint(await withEditedRelease(edit));
    expect(errors.some((e) => e.message.includes(named))).toBe(true);
  });
});
