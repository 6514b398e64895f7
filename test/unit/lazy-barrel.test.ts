// The ECS SDK's models barrel loaded lazily (src/cloud/lazy-barrel.ts, issue 19): the same names and the same classes
// as the real barrel, one file loaded per name read, and the eager barrel whenever the text is not the known shape.
// Jest's require cache ignores writes, so the installed path is checked in a plain Node child at the end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ECS_MODELS_BARREL } from '../../src/cloud/ecs-sdk.ts';
import { type BarrelEntry, lazyBarrel, parseBarrel, primeLazyBarrel } from '../../src/cloud/lazy-barrel.ts';

type Exports = Record<string, unknown>;
const load = createRequire(ECS_MODELS_BARREL);
const text = readFileSync(ECS_MODELS_BARREL, 'utf8');
const real = load(ECS_MODELS_BARREL) as Exports;

function lazyFrom(barrelText: string, loader: (file: string) => unknown = load): Exports {
  const entries = parseBarrel(barrelText);
  if (entries === null) throw new Error('the barrel did not parse');
  return lazyBarrel(entries, loader) as Exports;
}

/** The names whose value differs between the lazy and the real barrel (a missing class counts). */
function mismatches(lazy: Exports, names: readonly string[]): string[] {
  return names.filter((name) => typeof real[name] !== 'function' || lazy[name] !== real[name]);
}

/** Every `Ecs.X` the operator's source reads, and the responses of the five actions it calls. */
const USED_IN_SRC: Array<[name: string, file: string]> = [
  ['default', '../client'],
  ['DescribeImagesRequest', './DescribeImagesRequest'],
  ['DescribeImagesRequestTag', './DescribeImagesRequest'],
  ['DescribeImagesResponse', './DescribeImagesResponse'],
  ['DescribeImageSharePermissionRequest', './DescribeImageSharePermissionRequest'],
  ['DescribeImageSharePermissionResponse', './DescribeImageSharePermissionResponse'],
  ['ModifyImageSharePermissionRequest', './ModifyImageSharePermissionRequest'],
  ['ModifyImageSharePermissionResponse', './ModifyImageSharePermissionResponse'],
  ['TagResourcesRequest', './TagResourcesRequest'],
  ['TagResourcesRequestTag', './TagResourcesRequest'],
  ['TagResourcesResponse', './TagResourcesResponse'],
  ['UntagResourcesRequest', './UntagResourcesRequest'],
  ['UntagResourcesResponse', './UntagResourcesResponse'],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('the lazy barrel against the real one', () => {
  const lazy = lazyFrom(text);
  const names = Object.keys(real);

  it('the real barrel parses (the SDK release still has the shape the loader knows)', () => {
    expect(parseBarrel(text)).not.toBeNull();
    expect(names.length).toBeGreaterThan(2000);
  });

  it('lists exactly the same names, in the same order, with the same kind of property', () => {
    expect(Object.getOwnPropertyNames(lazy)).toEqual(Object.getOwnPropertyNames(real));
    const shape = (o: object, k: string) => {
      const d = Object.getOwnPropertyDescriptor(o, k);
      return { enumerable: d?.enumerable, configurable: d?.configurable, getter: typeof d?.get, value: d?.value };
    };
    for (const k of Object.getOwnPropertyNames(real)) expect([k, shape(lazy, k)]).toEqual([k, shape(real, k)]);
  });

  it('every name is the very class the real barrel gives', () => {
    expect(mismatches(lazy, names)).toEqual([]);
  });

  it.each(USED_IN_SRC.filter(([name]) => name !== 'default'))('%s is the class %s exports', (name, file) => {
    const fromFile = (load(file) as Exports)[name];
    expect(typeof fromFile).toBe('function');
    expect(lazy[name]).toBe(fromFile);
  });

  it('the table above names every Ecs.X the source reads', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(new URL('../../src', import.meta.url).pathname))
      for (const m of readFileSync(file, 'utf8').matchAll(/\bEcs\.(\w+)/g)) if (m[1]) used.add(m[1]);
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((n) => !USED_IN_SRC.some(([name]) => name === n))).toEqual([]);
  });

  // The identity check must be able to fail: each row is a barrel text with one getter pointed elsewhere.
  const variableOf = (t: string, name: string) =>
    new RegExp(`"${name}", \\{ enumerable: true, get: function \\(\\) \\{ return (\\w+)\\.`).exec(t)?.[1] ?? '?';
  const retarget = (t: string, name: string, file: string) =>
    t.replace(
      new RegExp(`^var ${variableOf(t, name)} = require\\("[^"]+"\\);$`, 'm'),
      `var ${variableOf(t, name)} = require("${file}");`,
    );
  const toUnrequiredVariable = (t: string) =>
    t.replace(`return ${variableOf(t, 'DescribeImagesRequestTag')}.`, 'return Nowhere_1.');
  it.each<[string, (t: string) => string, string]>([
    [
      'a getter reading the right name from the wrong file',
      (t) => retarget(t, 'DescribeImagesRequest', './DescribeImagesResponse'),
      'DescribeImagesRequest',
    ],
    [
      'a getter reading a sibling class of the same file',
      (t) =>
        t.replace(
          /(get: function \(\) \{ return DescribeImagesRequest_\d+\.)DescribeImagesRequestTag;/,
          '$1DescribeImagesRequestFilter;',
        ),
      'DescribeImagesRequestTag',
    ],
  ])('the check catches %s', (_why, tamper, name) => {
    const tampered = tamper(text);
    expect(tampered).not.toBe(text);
    expect(mismatches(lazyFrom(tampered), names)).toContain(name);
  });

  it('a getter whose variable was never required makes the text unrecognised, not a lazy barrel', () => {
    expect(parseBarrel(toUnrequiredVariable(text))).toBeNull();
  });
});

describe('loading', () => {
  it('building the barrel and listing its names load nothing; a name loads its one file, once', () => {
    const loaded: string[] = [];
    const lazy = lazyFrom(text, (file) => {
      loaded.push(file);
      return load(file);
    });
    expect(Object.keys(lazy).length).toBeGreaterThan(2000);
    expect(loaded).toEqual([]);
    expect(lazy.DescribeImagesRequestTag).toBe(real.DescribeImagesRequestTag);
    expect(lazy.DescribeImagesRequestTag).toBe(real.DescribeImagesRequestTag);
    expect(loaded).toEqual(['./DescribeImagesRequest']);
  });
});

const HEAD = '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n';
const define = (name: string, v: string) =>
  `Object.defineProperty(exports, "${name}", { enumerable: true, get: function () { return ${v}.${name}; } });`;
const GOOD = [
  'exports.B = exports.A = void 0;',
  'var A_1 = require("./A");',
  define('A', 'A_1'),
  'var A_2 = require("./A");',
  define('B', 'A_2'),
  '//# sourceMappingURL=model.js.map',
].join('\n');

describe('the barrel text', () => {
  it('a well-formed text gives its names in the order its exports object lists them', () => {
    const want: BarrelEntry[] = [
      { name: 'A', file: './A', property: 'A' },
      { name: 'B', file: './A', property: 'B' },
    ];
    expect(parseBarrel(HEAD + GOOD)).toEqual(want);
  });

  it.each<[string, string]>([
    ['an empty file has no names', ''],
    ['the header alone has no names', HEAD],
    ['without __esModule, importers would copy every name eagerly', GOOD],
    ['a getter whose variable has no require', `${HEAD}exports.A = void 0;\n${define('A', 'X_1')}`],
    ['a name declared at the top but never defined', `${HEAD}exports.C = void 0;\n${GOOD}`],
    ['a name defined but not declared at the top', `${HEAD}${GOOD}\nvar C_1 = require("./C");\n${define('C', 'C_1')}`],
    ['a name defined twice', `${HEAD}${GOOD}\n${define('A', 'A_1')}`],
    ['a variable required twice', `${HEAD}${GOOD}\nvar A_1 = require("./Z");`],
    ['a star re-export, whose names the parser cannot know', `${HEAD}${GOOD}\n__exportStar(require("./C"), exports);`],
    ['a require that is not relative', `${HEAD}exports.A = void 0;\nvar A_1 = require("a");\n${define('A', 'A_1')}`],
  ])('falls back to the eager barrel: %s', (_why, barrelText) => {
    expect(parseBarrel(barrelText)).toBeNull();
  });
});

describe('priming the require cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-barrel-'));
  writeFileSync(join(dir, 'A.js'), 'exports.A = class A {}; exports.B = class B {};\n');
  const barrel = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  it('a recognised barrel is cached as a loaded module with lazy names', () => {
    const cache: NodeJS.Dict<NodeJS.Module> = {};
    const path = barrel('good.js', HEAD + GOOD);
    expect(primeLazyBarrel(path, cache)).toBe(true);
    const mod = cache[path];
    expect(mod?.loaded).toBe(true);
    expect(mod?.filename).toBe(path);
    const exports = (mod?.exports ?? {}) as Exports;
    expect(Object.keys(exports)).toEqual(['A', 'B']);
    expect(exports.B).toBe((createRequire(path)('./A') as Exports).B);
  });

  it.each<[string, string | null]>([
    ['an unrecognised text', `${HEAD}__exportStar(require("./A"), exports);\n`],
    ['a missing file', null],
  ])('%s leaves the cache alone, so the barrel loads eagerly as usual', (_why, content) => {
    const cache: NodeJS.Dict<NodeJS.Module> = {};
    const path = content === null ? join(dir, 'missing.js') : barrel('odd.js', content);
    expect(primeLazyBarrel(path, cache)).toBe(false);
    expect(cache).toEqual({});
  });

  it('a barrel already loaded is not replaced (two copies of a class would break instanceof)', () => {
    const path = barrel('loaded.js', HEAD + GOOD);
    const cached = { loaded: true } as NodeJS.Module;
    const cache: NodeJS.Dict<NodeJS.Module> = { [path]: cached };
    expect(primeLazyBarrel(path, cache)).toBe(false);
    expect(cache[path]).toBe(cached);
  });
});

// Plain Node, as the operator runs: Jest's own registry would load the SDK eagerly whatever the cache said.
describe('in a plain Node process', () => {
  const sdkModule = new URL('../../src/cloud/ecs-sdk.ts', import.meta.url).href;
  const run = (script: string) =>
    JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  const report = `
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const files = Object.keys(require.cache).filter((f) => f.includes('ecs20140526'));
    console.log(JSON.stringify({ names: Object.keys(Ecs), files: files.length, same, client: typeof new Ecs.default({ endpoint: 'ecs.invalid', accessKeyId: 'a', accessKeySecret: 'b', regionId: 'r' }).describeImages }));`;
  const used = JSON.stringify(USED_IN_SRC.filter(([n]) => n !== 'default'));
  const lazy = run(`
    const { Ecs, ECS_MODELS_BARREL } = await import(${JSON.stringify(sdkModule)});
    const model = (await import('node:module')).createRequire(ECS_MODELS_BARREL);
    const same = ${used}.every(([name, file]) => Ecs[name] === model(file)[name]);
    ${report}`);
  const eager = run(`
    const Ecs = (await import('node:module')).createRequire(import.meta.url)('@alicloud/ecs20140526');
    const same = true;
    ${report}`);

  it('the SDK gets the lazy barrel: the same names as eager loading, and only a few model files', () => {
    expect(lazy.names).toEqual(eager.names);
    expect(eager.files).toBeGreaterThan(1000);
    expect(lazy.files).toBeLessThan(200);
  });

  it('the classes the source uses are the model files’ own, and a client can be built', () => {
    expect(lazy.same).toBe(true);
    expect(lazy.client).toBe('function');
  });
});
