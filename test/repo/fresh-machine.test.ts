// A newcomer runs `npm ci && npm test` and nothing else, so CI must not prepare anything those commands do not, and
// no test may call a program that neither npm nor the project's own build scripts provide.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function testSources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? testSources(join(dir, e.name))
        : Promise.resolve(e.name.endsWith('.ts') ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

describe('fresh machine', () => {
  it.each([
    ['apt-get', 'system packages are not there on a new machine'],
    ['pip install', 'nor Python packages'],
    ['curl ', 'downloads other than package registries fail'],
    [
      'build.sh',
      'npm test builds the control plane and Go helpers itself; CI must not warm a cache the README does not',
    ],
  ])('.ci/run does not run %s (%s)', async (command) => {
    expect(await readFile(join(ROOT, '.ci/run'), 'utf8')).not.toContain(command);
  });

  it('no test shells out to lua5.1 (Argo CD health runs in the gopher-lua helper)', async () => {
    const offenders: string[] = [];
    for (const file of await testSources(join(ROOT, 'test'))) {
      if (file.endsWith('fresh-machine.test.ts')) continue;
      if ((await readFile(file, 'utf8')).includes('lua5.1')) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
