// The user-facing examples (examples/*.yaml) as the demo applies them: unchanged except for the namespace, so a
// run can use its own namespace (the integration test does, to share one apiserver with other suites).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export interface ExampleObject {
  kind: string;
  name: string;
}

export interface ExampleFile {
  /** The file name inside the examples directory, e.g. `golden-ubuntu.yaml`. */
  file: string;
  /** Multi-document YAML ready for `kubectl apply -f -`. */
  manifest: string;
  objects: ExampleObject[];
}

type Manifest = { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };

/**
 * Reads every `*.yaml` in `dir` and moves its objects into `namespace` (a Namespace object is renamed to it).
 * Files that create a Namespace come first, then the rest in name order, so one pass of `kubectl apply` works.
 * Throws when a file is not valid YAML or holds a document without kind and metadata.name.
 */
export async function loadExamples(dir: string, namespace: string): Promise<ExampleFile[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const loaded = await Promise.all(
    files.map(async (file) => retarget(file, await readFile(join(dir, file), 'utf8'), namespace)),
  );
  const createsNamespace = (f: ExampleFile) => f.objects.some((o) => o.kind === 'Namespace');
  return [...loaded.filter(createsNamespace), ...loaded.filter((f) => !createsNamespace(f))];
}

/** One file's documents with the namespace replaced. Throws on YAML errors or documents without kind/name. */
export function retarget(file: string, text: string, namespace: string): ExampleFile {
  const docs = parseAllDocuments(text);
  const manifests: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML: ${doc.errors[0]?.message ?? 'unknown error'}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null) manifests.push(value);
  }
  const objects = manifests.map((m, i) => {
    if (typeof m.kind !== 'string' || typeof m.metadata?.name !== 'string') {
      throw new Error(`${file}: document ${i + 1} has no kind or metadata.name`);
    }
    const kind = m.kind;
    if (kind === 'Namespace') m.metadata.name = namespace;
    else m.metadata.namespace = namespace;
    return { kind, name: String(m.metadata.name) };
  });
  return { file, manifest: manifests.map((m) => stringify(m)).join('---\n'), objects };
}
