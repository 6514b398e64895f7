// kubectl against the integration test control plane: the same tool and code paths users have, so the tests
// exercise the CRD exactly as `kubectl apply` sends it.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { testState } from './env.ts';
import { KubeCli, type KubeResult, type KubeRunOptions } from './kube-cli.ts';

export interface KubectlOptions extends KubeRunOptions {
  /** Default: the admin kubeconfig of the test control plane. */
  kubeconfig?: string;
}

/**
 * Runs the built kubectl with `args`. Throws when it exits non-zero (unless `allowFail`), with its stderr in the
 * message, or when it runs longer than `timeoutMs`.
 */
export async function kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<KubeResult> {
  const state = testState();
  const { kubeconfig, ...run } = opts;
  return new KubeCli(join(state.binDir, 'kubectl'), kubeconfig ?? state.kubeconfigPath, state.kubeCacheDir).run(
    args,
    run,
  );
}

/** `kubectl apply -f -` with a YAML string or an object (serialised to YAML). Same failure rules as `kubectl`. */
export async function applyYaml(
  manifest: string | object,
  opts: Omit<KubectlOptions, 'input'> = {},
): Promise<KubeResult> {
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
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 50)}-${randomBytes(3).toString('hex')}`;
  await kubectl(['create', 'namespace', name]);
  return name;
}
