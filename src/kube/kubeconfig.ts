// Where the operator's Kubernetes identity comes from.
import { KubeConfig } from '@kubernetes/client-node';

/**
 * Loads a kubeconfig: from `path` when given (e.g. a --kubeconfig flag), otherwise client-node's default chain:
 * $KUBECONFIG (a path list, merged) → ~/.kube/config → in-cluster service account (token file re-read as the
 * kubelet rotates it). Throws when the file cannot be read or parsed, or when no current cluster results.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined && path !== '') kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (kc.getCurrentCluster() === null) {
    throw new Error(`kubeconfig ${path ?? '(default chain)'} has no current cluster`);
  }
  return kc;
}
