// This cluster's identity for the images' owner tag (ADR 0008): the uid of the kube-system namespace, the usual
// stable cluster ID (it lives as long as the cluster and differs between clusters). --cluster-id overrides it.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** The kube-system namespace's uid. Throws an Error saying what to grant or set when it cannot be read. */
export async function readClusterId(kc: KubeConfig): Promise<string> {
  try {
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' });
    if (ns.metadata?.uid) return ns.metadata.uid;
    throw new Error('namespace kube-system has no uid');
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(
      `cannot identify this cluster from namespace kube-system (${why}); grant "get" on it (the chart does) or set --cluster-id`,
    );
  }
}
