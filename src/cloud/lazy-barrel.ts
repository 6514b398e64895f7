// A TypeScript-emitted CommonJS re-export barrel (`var X_1 = require("./File"); Object.defineProperty(exports, "Name",
// { get: ... X_1.Name })`), installed in the require cache with one lazy getter per name instead of requiring every
// file at once. The ECS SDK's models barrel holds 2,083 names in 1,151 files; the client reads only the few its
// called actions construct (issue 19, docs/performance.md "Loading less"). The installed files stay unmodified.
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { debuglog } from 'node:util';

/** One re-exported name: `exports[name]` is `require(file)[property]`. */
export interface BarrelEntry {
  readonly name: string;
  readonly file: string;
  readonly property: string;
}

const ID = '[A-Za-z_$][\\w$]*';
const LINE = {
  strict: /^"use strict";$/,
  esModule: /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/,
  declare: new RegExp(`^exports\\.${ID}(?: = exports\\.${ID})* = void 0;$`),
  require: new RegExp(`^var (${ID}) = require\\("(\\./[^"\\\\]+)"\\);$`),
  define: new RegExp(
    `^Object\\.defineProperty\\(exports, "(${ID})", \\{ enumerable: true, get: function \\(\\) \\{ return (${ID})\\.(${ID}); \\} \\}\\);$`,
  ),
  comment: /^\/\/.*$/,
} as const;

const log = debuglog('imageshare:lazy-barrel');

interface Parsed {
  declared: string[];
  files: Map<string, string>;
  defined: Map<string, BarrelEntry>;
  esModule: boolean;
}

/** Reads one line into `into`; false when the line has a shape this parser does not know, or contradicts an earlier one. */
function readLine(line: string, into: Parsed): boolean {
  if (line === '' || LINE.strict.test(line) || LINE.comment.test(line)) return true;
  if (LINE.esModule.test(line)) {
    into.esModule = true;
    return true;
  }
  if (LINE.declare.test(line)) {
    // `exports.A = exports.B = void 0` creates B before A: keep the barrel's own key order.
    const targets = line.slice(0, -' = void 0;'.length).split(' = ');
    into.declared.push(...targets.reverse().map((target) => target.slice('exports.'.length)));
    return true;
  }
  const req = LINE.require.exec(line);
  if (req?.[1] && req[2]) {
    if (into.files.has(req[1])) return false;
    into.files.set(req[1], req[2]);
    return true;
  }
  const def = LINE.define.exec(line);
  const file = def?.[2] === undefined ? undefined : into.files.get(def[2]);
  if (!def?.[1] || !def[3] || file === undefined || into.defined.has(def[1])) return false;
  into.defined.set(def[1], { name: def[1], file, property: def[3] });
  return true;
}

/**
 * The names of a barrel's text in the order its exports object lists them, or null when the text is not exactly the
 * expected shape: an unknown line, a getter whose variable has no require, a name defined twice, no `__esModule`,
 * no names, or the names declared at the top differing from the names defined. Null means "load it eagerly".
 */
export function parseBarrel(text: string): BarrelEntry[] | null {
  const parsed: Parsed = { declared: [], files: new Map(), defined: new Map(), esModule: false };
  for (const line of text.split(/\r?\n/)) if (!readLine(line, parsed)) return null;
  const { declared, defined } = parsed;
  if (!parsed.esModule || defined.size === 0 || new Set(declared).size !== declared.length) return null;
  if (declared.length !== defined.size) return null;
  const entries: BarrelEntry[] = [];
  for (const name of declared) {
    const entry = defined.get(name);
    if (entry === undefined) return null;
    entries.push(entry);
  }
  return entries;
}

/**
 * An exports object with the barrel's names, each an enumerable getter like the barrel's own, which loads only that
 * name's file (once) with `load`. `__esModule` is set as the barrel sets it, so TypeScript's `__importStar` and
 * `__exportStar` in a requiring module keep the getters instead of reading every name.
 */
export function lazyBarrel(entries: readonly BarrelEntry[], load: (file: string) => unknown): object {
  const exports = {};
  Object.defineProperty(exports, '__esModule', { value: true });
  for (const { name, file, property } of entries) {
    let mod: Record<string, unknown> | undefined;
    const get = () => {
      mod ??= load(file) as Record<string, unknown>;
      return mod[property];
    };
    Object.defineProperty(exports, name, { enumerable: true, configurable: true, get });
  }
  return exports;
}

/**
 * Puts a lazy copy of the barrel at `path` into the require cache, so a later `require` of it (e.g. by the package's
 * entry) gets the lazy one. Returns true if it did; false (changing nothing) when the barrel is already loaded, cannot
 * be read or does not parse, or the cache refuses the entry (Jest's require cache ignores writes). Never throws.
 */
export function primeLazyBarrel(path: string, cache: NodeJS.Dict<NodeJS.Module> = createRequire(path).cache): boolean {
  if (cache[path] !== undefined) return false;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    log('%s: not read, loaded as usual (%s)', path, err instanceof Error ? err.message : String(err));
    return false;
  }
  const entries = parseBarrel(text);
  if (entries === null) {
    log('%s: not the expected re-export shape, loaded as usual', path);
    return false;
  }
  const load = createRequire(path);
  const mod = new Module(path);
  mod.filename = path;
  mod.exports = lazyBarrel(entries, load);
  mod.loaded = true;
  cache[path] = mod;
  return cache[path] === mod;
}
