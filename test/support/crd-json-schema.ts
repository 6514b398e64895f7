// Generates JSON Schemas for kubeconform from crds/imageshare.yaml and crds/imagesharepolicy.yaml, in the CRDs-catalog
// layout (schemas/<group>/<kind>_<version>.json, lower case) and with the catalog converter's rules (kubeconform's
// openapi2jsonschema): every object schema with `properties` gets `additionalProperties: false` unless it sets its own,
// and `format: int-or-string` becomes a string-or-integer oneOf. Unlike the catalog's default, the root object is
// closed too (its DENY_ROOT_ADDITIONAL_PROPERTIES mode), because the apiserver rejects unknown top-level fields.
//
// Usage: npm run generate-schemas [-- --check]
//   writes schemas/ from the CRD; with --check, writes nothing and exits 1 when schemas/ is out of date.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const CRD_PATH = fileURLToPath(new URL('../../crds/imageshare.yaml', import.meta.url));
/** Every CRD the schemas are generated from (ImageShare, and ImageSharePolicy of docs/adr/0024). */
export const CRD_PATHS = [
  CRD_PATH,
  fileURLToPath(new URL('../../crds/imagesharepolicy.yaml', import.meta.url)),
  fileURLToPath(new URL('../../crds/imageshareset.yaml', import.meta.url)),
  fileURLToPath(new URL('../../crds/accountset.yaml', import.meta.url)),
  fileURLToPath(new URL('../../crds/clusteraccountset.yaml', import.meta.url)),
];
export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

interface CrdShape {
  kind?: string;
  spec?: {
    group?: string;
    names?: { kind?: string };
    versions?: Array<{ name?: string; schema?: { openAPIV3Schema?: JsonObject } }>;
  };
}

/** Every schema file the CRD text yields: path relative to schemas/ → file content (2-space JSON, trailing newline). */
export function crdToJsonSchemas(crdText: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const doc of parseAllDocuments(crdText)) {
    const crd = doc.toJS() as CrdShape | null;
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    const group = crd.spec?.group ?? '';
    const kind = (crd.spec?.names?.kind ?? '').toLowerCase();
    for (const version of crd.spec?.versions ?? []) {
      const schema = version.schema?.openAPIV3Schema;
      if (schema === undefined || version.name === undefined) continue;
      const converted = closeObjects(replaceIntOrString(structuredClone(schema)));
      files.set(join(group, `${kind}_${version.name}.json`), `${JSON.stringify(converted, null, 2)}\n`);
    }
  }
  return files;
}

function closeObjects(node: Json): Json {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) out[k] = closeObjects(v);
  if (isObject(node.properties) && !('additionalProperties' in node)) out.additionalProperties = false;
  return out;
}

function replaceIntOrString(node: Json): Json {
  if (Array.isArray(node)) return node.map(replaceIntOrString);
  if (!isObject(node)) return node;
  if (node.format === 'int-or-string') return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) out[k] = replaceIntOrString(v);
  return out;
}

async function allSchemas(): Promise<Map<string, string>> {
  const texts = await Promise.all(CRD_PATHS.map((p) => readFile(p, 'utf8')));
  return new Map(texts.flatMap((t) => [...crdToJsonSchemas(t)]));
}

/** The schema files whose committed content differs from what the CRD yields (relative paths). */
export async function staleSchemas(): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, content] of await allSchemas()) {
    const current = await readFile(join(SCHEMAS_DIR, path), 'utf8').catch(() => undefined);
    if (current !== content) stale.push(path);
  }
  return stale;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'Usage: npm run generate-schemas [-- --check]\nWrites schemas/<group>/<kind>_<version>.json from crds/*.yaml for kubeconform; --check only reports stale files (exit 1).\n',
    );
    return 0;
  }
  if (argv.includes('--check')) {
    const stale = await staleSchemas();
    for (const path of stale) process.stderr.write(`stale: schemas/${path} (run npm run generate-schemas)\n`);
    return stale.length > 0 ? 1 : 0;
  }
  for (const [path, content] of await allSchemas()) {
    const target = join(SCHEMAS_DIR, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    process.stdout.write(`wrote ${relative(process.cwd(), target)}\n`);
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
