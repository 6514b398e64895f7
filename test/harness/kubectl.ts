// kubectl against the integration test control plane: the same tool and code paths users have, so the tests
// exercise the CRD exactly as `kubectl apply` sends it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { testState } from './env.ts';

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  /** Default: the admin kubeconfig of the test control plane. */
  kubeconfig?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
  /** Kill kubectl after this long (default 60 s), so a hung call fails the test instead of hanging the run. */
  timeoutMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built kubectl with `args`. Throws when it exits non-zero (unless `allowFail`), with its stderr in the
 * message, or when it runs longer than `timeoutMs`.
 */
export async function kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const state = testState();
  const env = { ...process.env, KUBECONFIG: opts.kubeconfig ?? state.kubeconfigPath, KUBECACHEDIR: state.kubeCacheDir };
  const child = spawn(join(state.binDir, 'kubectl'), args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(opts.input ?? '');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? -1));
  }).finally(() => clearTimeout(timer));
  if (timedOut) throw new Error(`kubectl ${args.join(' ')} did not finish within ${timeoutMs} ms`);
  if (code !== 0 && opts.allowFail !== true) {
    throw new Error(`kubectl ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
  }
  return { code, stdout, stderr };
}

/** `kubectl apply -f -` with a YAML string or an object (serialised to YAML). Same failure rules as `kubectl`. */
export async function applyYaml(manifest: string | object, opts: Omit<KubectlOptions, 'input'> = {}): Promise<KubectlResult> {
  const input = typeof manifest === 'string' ? manifest : stringify(manifest);
  return kubectl(['apply', '-f', '-'], { ...opts, input });
}

/** `kubectl get <kind> <name> -n <ns> -o json`, parsed. Throws when the object does not exist. */
export async function getJson<T = Record<string, unknown>>(kind: string, namespace: string, name: string): Promise<T> {
  const { stdout } = await kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
  return JSON.parse(stdout) as T;
}

/**
 * Creates a namespace named `<prefix>-<random>` and returns its name. Every test gets a fresh one because
 * namespaces never finish deleting on a control plane without controllers.
 */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 50)}-${randomBytes(3).toString('hex')}`;
  await kubectl(['create', 'namespace', name]);
  return name;
}
