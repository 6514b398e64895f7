// The Helm chart as tests see it: `helm lint` / `helm template` with the helm binary built from Go modules by
// test/control-plane/build.sh (cached; the first call may build it), output parsed into objects.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ensureBinaries } from './control-plane.ts';
import { runProcess } from './run-process.ts';

export const CHART_DIR = fileURLToPath(new URL('../../charts/imageshare-operator', import.meta.url));
export const FULL_VALUES = fileURLToPath(new URL('../support/values-full.yaml', import.meta.url));
/** The Kubernetes version `helm template` assumes offline; matches the test control plane (build.sh). */
export const KUBE_VERSION = '1.35.4';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A rendered manifest, loosely typed: tests narrow what they read. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Values files, in order. */
  valuesFiles?: readonly string[];
  /** `--set` pairs, in order. */
  set?: Readonly<Record<string, string>>;
  /** The helm binary directory; default: build.sh's cache (built if needed). */
  binDir?: string;
  /** Also render the `helm test` hook objects (templates/tests/); default false, as `helm install` applies them. */
  includeTests?: boolean;
}

/** Runs `bin args…`, collecting output. Never throws for a non-zero exit; throws only when `bin` cannot start. */
export function runTool(bin: string, args: readonly string[], input = ''): Promise<ToolResult> {
  return runProcess(bin, args, { input });
}

let cachedBinDir: Promise<string> | undefined;

/** The directory holding helm and kubectl, building them through build.sh on first use (instant when cached). */
export function toolsDir(): Promise<string> {
  cachedBinDir ??= ensureBinaries();
  return cachedBinDir;
}

/** `helm <args>` with the cached binary. Never throws for a non-zero exit. */
export async function helm(args: readonly string[], binDir?: string): Promise<ToolResult> {
  return runTool(join(binDir ?? (await toolsDir()), 'helm'), args);
}

/** The `helm template` arguments for `opts` (release, namespace, kube version, values files, --set pairs). */
export function templateArgs(opts: RenderOptions = {}): string[] {
  const args = [
    'template',
    opts.release ?? 'imageshare-operator',
    CHART_DIR,
    '--namespace',
    opts.namespace ?? 'imageshare-system',
  ];
  args.push('--kube-version', KUBE_VERSION);
  if (opts.includeTests !== true) args.push('--skip-tests');
  for (const f of opts.valuesFiles ?? []) args.push('--values', f);
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${v}`);
  return args;
}

/** Renders the chart and returns its stdout; throws with helm's stderr when rendering fails. */
export async function renderChartText(opts: RenderOptions = {}): Promise<string> {
  const r = await helm(templateArgs(opts), opts.binDir);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Renders the chart into objects (empty documents dropped). Throws when rendering or YAML parsing fails. */
export async function renderChart(opts: RenderOptions = {}): Promise<Manifest[]> {
  return parseManifests(await renderChartText(opts));
}

/** Parses a multi-document YAML stream into objects; throws on the first YAML error. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML in rendered output: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value !== null && typeof value === 'object') out.push(value as Manifest);
  }
  return out;
}

/** The single manifest of `kind` (and `name`, if given); throws when there is not exactly one. */
export function only(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as Manifest;
}
