// The Go test helpers (test/support/go/build.sh): Argo CD's Lua VM, kstatus and kubeconform, built from Go modules and
// cached under ~/.cache/imageshare-operator/tools. Jest global setups build them once with progress on stderr and
// pass the directory to workers in GO_HELPERS_ENV; a test file run on its own builds them on first use instead.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBuildScript } from './build-script.ts';
import { runProcess } from './run-process.ts';

export const GO_HELPERS_ENV = 'IMAGESHARE_GO_HELPERS_DIR';
export const GO_HELPERS_BUILD_SCRIPT = fileURLToPath(new URL('../support/go/build.sh', import.meta.url));
export const GoHelper = {
  ArgoHealth: 'argocd-health',
  Kstatus: 'kstatus',
  Kubeconform: 'kubeconform',
  Actionlint: 'actionlint',
} as const;
export type GoHelper = (typeof GoHelper)[keyof typeof GoHelper];

/** What a JSON-lines helper prints per object: a verdict, or the error the real code returned. */
export interface HelperVerdict {
  status?: string;
  message?: string;
  error?: string;
}

/**
 * Runs test/support/go/build.sh (instant when cached), streaming its progress to this process' stderr, and returns the
 * directory holding every helper. Throws when the build fails or a helper is missing afterwards.
 */
export function buildGoHelpers(): Promise<string> {
  return runBuildScript(GO_HELPERS_BUILD_SCRIPT, Object.values(GoHelper));
}

let helpersDir: Promise<string> | undefined;

/** The helper directory: the one a global setup built, else built (once per process) now. */
export function goHelpersDir(): Promise<string> {
  const fromSetup = process.env[GO_HELPERS_ENV];
  if (fromSetup !== undefined && fromSetup !== '') return Promise.resolve(fromSetup);
  helpersDir ??= buildGoHelpers();
  return helpersDir;
}

export async function goHelperPath(helper: GoHelper): Promise<string> {
  return join(await goHelpersDir(), helper);
}

/**
 * Sends `objects` to a JSON-lines helper (one object per line in, one verdict per line out) in one process and
 * returns the verdicts in order. Throws when the helper exits non-zero or answers a different number of lines.
 */
export async function runJsonLinesHelper(
  helper: GoHelper,
  args: readonly string[],
  objects: readonly object[],
): Promise<HelperVerdict[]> {
  const bin = await goHelperPath(helper);
  const input = objects.map((o) => `${JSON.stringify(o)}\n`).join('');
  const { code, stdout, stderr } = await runProcess(bin, args, { input, timeoutMs: 60_000 });
  if (code !== 0) throw new Error(`${helper} exited with ${String(code)}: ${stderr.trim()}`);
  const lines = stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== objects.length)
    throw new Error(`${helper} answered ${lines.length} lines for ${objects.length} objects`);
  return lines.map((l) => JSON.parse(l) as HelperVerdict);
}
