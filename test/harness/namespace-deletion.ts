// `kubectl delete namespace` to the end, on a control plane without kube-controller-manager: the test plays the
// namespace controller's part (pkg/controller/namespace/deletion). It marks the namespace Terminating, deletes every
// namespaced object in it (Secrets first, the order that strands a cleanup whose credentials go first), waits until
// none is left (finalizers, the operator's included, must all be released), then removes the namespace's
// `kubernetes` finalizer through the /finalize subresource, as the controller does, so the namespace disappears.
import type { KubeResult, KubeRunOptions } from './kube-cli.ts';

/** Runs kubectl with `args` (admin kubeconfig), like harness/kubectl.ts's `kubectl` or `KubeCli.run`. */
export type KubectlRun = (args: readonly string[], opts?: KubeRunOptions) => Promise<KubeResult>;

export interface NamespaceDeletionOptions {
  /** How long objects may take to go (their finalizers) before this gives up. Default 60 s. */
  timeoutMs?: number;
  /** Resource types deleted before the rest. Default ['secrets']. */
  first?: readonly string[];
}

export interface NamespaceDeletion {
  /** True once the namespace no longer exists. */
  gone: boolean;
  /** `kind/name` of the objects still in the namespace when it gave up (empty when gone). */
  remaining: string[];
}

const POLL_MS = 250;

/**
 * Deletes namespace `ns` and everything in it the way the namespace controller would. Resolves when the namespace
 * is gone, or after `timeoutMs` with what is still left (the namespace then stays Terminating). Throws when kubectl
 * fails for another reason.
 */
export async function deleteNamespaceLikeController(
  run: KubectlRun,
  ns: string,
  opts: NamespaceDeletionOptions = {},
): Promise<NamespaceDeletion> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const first = opts.first ?? ['secrets'];
  await run(['delete', 'namespace', ns, '--wait=false']);
  const types = (await run(['api-resources', '--namespaced', '--verbs=list,delete', '-o', 'name'])).stdout
    .split('\n')
    .filter((t) => t !== '');
  const rest = types.filter((t) => !first.includes(t));
  for (const batch of [first, rest]) {
    if (batch.length > 0)
      await run(['delete', batch.join(','), '--all', '-n', ns, '--wait=false', '--ignore-not-found']);
  }
  let remaining = await objectsIn(run, ns, types);
  while (remaining.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    remaining = await objectsIn(run, ns, types);
  }
  if (remaining.length > 0) return { gone: false, remaining };
  await finalizeNamespace(run, ns, Math.max(deadline, Date.now() + 10_000));
  return { gone: true, remaining: [] };
}

async function objectsIn(run: KubectlRun, ns: string, types: readonly string[]): Promise<string[]> {
  const { stdout } = await run(['get', types.join(','), '-n', ns, '-o', 'name', '--ignore-not-found']);
  return stdout.split('\n').filter((l) => l !== '');
}

/**
 * Drops spec.finalizers through /finalize (only the namespace controller's subresource can) and waits until the
 * namespace is gone; throws if it is still there at `deadline` (something else holds metadata.finalizers).
 */
async function finalizeNamespace(run: KubectlRun, ns: string, deadline: number): Promise<void> {
  const current = JSON.parse((await run(['get', 'namespace', ns, '-o', 'json'])).stdout) as {
    spec?: { finalizers?: string[] };
  };
  const body = { ...current, spec: { ...current.spec, finalizers: [] } };
  await run(['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'], { input: JSON.stringify(body) });
  for (;;) {
    const r = await run(['get', 'namespace', ns, '-o', 'name', '--ignore-not-found']);
    if (r.stdout.trim() === '') return;
    if (Date.now() > deadline) throw new Error(`namespace ${ns} still exists after its finalizers were removed`);
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}
