// `plan --kubeconfig`: the cluster's view of each manifest, so the plan is made against reality. It reads the live
// object (its status.managedAccounts and pending grants say which shares this object made) and, where RBAC allows,
// the Secret of spec.credentials.secretRef, so the cloud is read with the identity the controller would use.
import { type ImageShare, PendingAction } from '../api/types.ts';
import type { CloudCredentials } from '../cloud/port.ts';
import { describeApiError } from '../kube/api-errors.ts';
import { ImageShareClient } from '../kube/imageshare-client.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { SecretCredentialsReader } from '../kube/secret-credentials.ts';
import { ImageShareSetClient } from '../controllers/imageshareset/set-client.ts';
import type { ImageShareSet } from '../fleet/types.ts';
import type { LiveSet } from './plan-sets.ts';

/** What the cluster says about one manifest: its live object (or none) and, when readable, its Secret's key. */
export interface LiveObject {
  /** 'found' | 'absent' | why the object could not be read (the plan then treats it as new). */
  state: 'found' | 'absent' | { error: string };
  /** Accounts this object granted (status.managedAccounts plus grants recorded in status.pendingWrites). */
  managedAccounts: string[];
  /** The Secret's credentials, or why they could not be read (the plan then uses the default identity). */
  credentials?: CloudCredentials | { error: string };
}

export interface LiveCluster {
  /** The namespace of a manifest without metadata.namespace (the kubeconfig context's, else "default"). */
  readonly defaultNamespace: string;
  read(obj: ImageShare): Promise<LiveObject>;
  /** A set's live uid and its namespace's ImageShares (to tell kept and deleted children), and its Secret. */
  readSet(set: ImageShareSet): Promise<LiveSet & Pick<LiveObject, 'credentials'>>;
}

/** Reads through the kubeconfig at `path` (the same loader the operator uses). Throws when it cannot be loaded. */
export function liveCluster(path: string): LiveCluster {
  const kc = loadKubeConfig(path);
  const client = new ImageShareClient(kc);
  const secrets = new SecretCredentialsReader(kc, 'all');
  const defaultNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
  const sets = new ImageShareSetClient(kc);
  return {
    defaultNamespace,
    async read(obj) {
      const { namespace, name } = obj.metadata;
      const secretName = obj.spec.credentials?.secretRef?.name;
      return {
        ...(await readObject(client, namespace, name)),
        ...(secretName === undefined ? {} : { credentials: await readSecret(secrets, namespace, secretName) }),
      };
    },
    async readSet(set) {
      const { namespace, name } = set.metadata;
      const secretName = set.spec.credentials?.secretRef?.name;
      const credentials =
        secretName === undefined ? {} : { credentials: await readSecret(secrets, namespace, secretName) };
      try {
        const found = await sets.getSet(namespace, name);
        if (found === null) return { state: 'absent', imageShares: [], ...credentials };
        const imageShares = await sets.listImageShares(namespace);
        return {
          state: 'found',
          ...(found.metadata.uid ? { uid: found.metadata.uid } : {}),
          imageShares,
          ...credentials,
        };
      } catch (err: unknown) {
        return { state: { error: err instanceof Error ? err.message : String(err) }, imageShares: [], ...credentials };
      }
    },
  };
}

async function readObject(client: ImageShareClient, namespace: string, name: string): Promise<LiveObject> {
  try {
    const found = await client.get(namespace, name);
    return found === null
      ? { state: 'absent', managedAccounts: [] }
      : { state: 'found', managedAccounts: managedBy(found) };
  } catch (err: unknown) {
    return { state: { error: err instanceof Error ? err.message : String(err) }, managedAccounts: [] };
  }
}

async function readSecret(
  secrets: SecretCredentialsReader,
  namespace: string,
  name: string,
): Promise<CloudCredentials | { error: string }> {
  try {
    const found = await secrets.read(namespace, name);
    if (found.ok) return found.credentials;
    // These messages name the Secret and key, never a value; a 403 is this kubeconfig's RBAC, not the operator's.
    if (found.problem === 'denied') return { error: `this kubeconfig may not read Secret ${namespace}/${name}.` };
    return { error: found.message };
  } catch (err: unknown) {
    return { error: `reading Secret ${namespace}/${name} failed: ${describeApiError(err)}.` };
  }
}

/** The accounts an object's status says it granted: managedAccounts, plus grants it recorded before sending. */
export function managedBy(obj: ImageShare): string[] {
  const pending = (obj.status?.pendingWrites ?? []).flatMap((w) =>
    w.action === PendingAction.Grant && w.account ? [w.account] : [],
  );
  return [...new Set([...(obj.status?.managedAccounts ?? []), ...pending])].sort();
}
