// The Dockerfile cannot be built here (no Docker engine), so it is parsed (dockerfile-ast) and linted
// (dockerfile-utils, the validator behind the Dockerfile language server) and its essentials are asserted:
// multi-stage, Node 24, production dependencies only in the runtime, non-root, the operator as entrypoint.
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Copy, type Dockerfile, DockerfileParser, type From, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

const read = (rel: string): Promise<string> => readFile(new URL(`../../${rel}`, import.meta.url), 'utf8');

interface Stage {
  from: From;
  name: string;
  instructions: Instruction[];
}

/** Splits the file into stages: each FROM and the instructions up to the next FROM. */
function stages(df: Dockerfile): Stage[] {
  const froms = df.getFROMs();
  const all = df.getInstructions();
  return froms.map((from, i) => {
    const start = from.getRange().start.line;
    const end = froms[i + 1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
    const instructions = all.filter((ins) => ins.getRange().start.line > start && ins.getRange().start.line < end);
    return { from, name: from.getBuildStage() ?? String(i), instructions };
  });
}

const args = (ins: Instruction): string => ins.getArgumentsContent() ?? '';
const copyFrom = (ins: Instruction): string | undefined =>
  ins instanceof Copy ? (ins.getFromFlag()?.getValue() ?? undefined) : undefined;

describe('Dockerfile', () => {
  it('lints clean (no errors or warnings from dockerfile-utils)', async () => {
    const problems = validate(await read('Dockerfile')).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('is multi-stage, on Node 24 throughout', async () => {
    const df = DockerfileParser.parse(await read('Dockerfile'));
    const s = stages(df);
    expect(s.map((x) => x.name)).toEqual(['build', 'prod-deps', 'runtime']);
    const defaultNode = df
      .getInitialARGs()
      .find((a) => a.getProperty()?.getName() === 'NODE_IMAGE')
      ?.getProperty()
      ?.getValue();
    expect(defaultNode).toMatch(/^node:24[-.]/);
    expect(s.at(-1)?.from.getImage()).toMatch(/nodejs24/);
  });

  it('ships only production dependencies: the runtime copies node_modules from the `npm ci --omit=dev` stage', async () => {
    const s = stages(DockerfileParser.parse(await read('Dockerfile')));
    const runtime = s.at(-1);
    if (!runtime) throw new Error('no stages');
    const copies = runtime.instructions.filter((i) => i.getKeyword() === 'COPY');
    const nodeModulesFrom = copies.filter((c) => args(c).includes('node_modules')).map(copyFrom);
    expect(nodeModulesFrom).toEqual(['prod-deps']);
    const prodDeps = s.find((x) => x.name === 'prod-deps');
    const installs = (prodDeps?.instructions ?? []).filter((i) => i.getKeyword() === 'RUN').map(args);
    expect(installs.some((cmd) => /npm ci\b[^&]*--omit=dev/.test(cmd))).toBe(true);
    // The runtime installs nothing itself and takes only the built dist/ from the full (dev) install.
    expect(runtime.instructions.filter((i) => i.getKeyword() === 'RUN')).toEqual([]);
    expect(copies.filter((c) => copyFrom(c) === 'build').map(args)).toEqual(['/app/dist ./dist']);
  });

  it('runs as a numeric non-root user with the operator as entrypoint', async () => {
    const runtime = stages(DockerfileParser.parse(await read('Dockerfile'))).at(-1);
    const users = (runtime?.instructions ?? []).filter((i) => i.getKeyword() === 'USER').map(args);
    expect(users).toHaveLength(1);
    const [uid, gid] = (users[0] ?? '').split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const entry = (runtime?.instructions ?? []).filter((i) => i.getKeyword() === 'ENTRYPOINT').map(args);
    expect(entry.map((e) => (JSON.parse(e) as string[]).slice(0, -1))).toEqual([
      ['/nodejs/bin/node', '--max-semi-space-size=4'],
    ]);
  });

  it('the entrypoint runs the file package.json declares as the operator binary, where the image puts it', async () => {
    const pkg = JSON.parse(await read('package.json')) as { bin: Record<string, string> };
    const bin = pkg.bin['imageshare-operator'] ?? '';
    const runtime = stages(DockerfileParser.parse(await read('Dockerfile'))).at(-1)?.instructions ?? [];
    const workdir =
      runtime
        .filter((i) => i.getKeyword() === 'WORKDIR')
        .map(args)
        .at(-1) ?? '/';
    const [entry] = runtime.filter((i) => i.getKeyword() === 'ENTRYPOINT').map((e) => JSON.parse(args(e)) as string[]);
    expect(entry?.at(-1)).toBe(posix.join(workdir, bin));
    // And the runtime stage copies that file's directory in.
    const copied = runtime.filter((i) => i.getKeyword() === 'COPY').map((c) => args(c).split(/\s+/).at(-1) ?? '');
    expect(copied.map((d) => posix.join(workdir, d))).toContain(posix.join(workdir, posix.dirname(bin)));
  });

  it('.dockerignore keeps node_modules, dist and everything but the build inputs out of the context', async () => {
    const lines = (await read('.dockerignore')).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('**');
    expect(lines.filter((l) => l.startsWith('!')).sort()).toEqual([
      '!package-lock.json',
      '!package.json',
      '!src/**',
      '!tsconfig.build.json',
      '!tsconfig.json',
    ]);
  });
});
