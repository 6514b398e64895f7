// The one `connect` step: an object's spec.credentials in, the credentials to call ECS with (and who they are) or
// why there are none out. The controller blocks the pass on a refusal; `plan` falls back to the default identity.
import type { CredentialsSpec } from '../api/types.ts';
import type { CloudCredentials } from '../cloud/port.ts';
import { identityOf } from './identity.ts';

export type CredentialsLookup = { ok: true; credentials: CloudCredentials } | { ok: false; message: string };

export type Connection =
  | {
      ok: true;
      credentials: CloudCredentials;
      /** The fingerprint kept in status (identity.ts): never a secret, never the access key ID. */
      identity: string;
      /** For people: `default`, `roleArn <arn>` or `Secret <namespace>/<name>`. */
      label: string;
    }
  | { ok: false; message: string };

export interface ConnectInput {
  namespace: string;
  credentials: CredentialsSpec | undefined;
  /** Reads spec.credentials.secretRef from the object's own namespace. */
  readSecret(namespace: string, name: string): Promise<CredentialsLookup>;
  /** The operator's own identity fingerprint (identity.ts operatorIdentityOf), for objects without credentials. */
  operatorIdentity?: string | undefined;
}

/** roleArn wins over secretRef (the CRD allows one of them); neither means the operator's own identity. */
export async function connect({
  namespace,
  credentials: spec,
  readSecret,
  operatorIdentity,
}: ConnectInput): Promise<Connection> {
  const use = (credentials: CloudCredentials, label: string): Connection => ({
    ok: true,
    credentials,
    identity: identityOf(spec, credentials, operatorIdentity),
    label,
  });
  if (spec?.roleArn) return use({ type: 'roleArn', roleArn: spec.roleArn }, `roleArn ${spec.roleArn}`);
  if (!spec?.secretRef) return use({ type: 'default' }, 'default');
  const found = await readSecret(namespace, spec.secretRef.name);
  if (!found.ok) return found;
  return use(found.credentials, `Secret ${namespace}/${spec.secretRef.name}`);
}
