// Static cloud credentials from a Secret in the ImageShare's own namespace (never another namespace, so a user
// cannot borrow credentials they could not read themselves). Values are never logged or put in error messages.
import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { CloudCredentials } from '../cloud/port.ts';
import { describeApiError, httpStatusOf } from './api-errors.ts';

export const SecretKeys = {
  AccessKeyId: 'accessKeyId',
  AccessKeySecret: 'accessKeySecret',
  SecurityToken: 'securityToken',
} as const;

/**
 * The referenced Secret or one of its required keys is missing. The reconciler maps this to reason
 * CredentialsNotFound; the message names the Secret and the key, never a value.
 */
export class CredentialsNotFoundError extends Error {
  readonly namespace: string;
  readonly secretName: string;
  /** The missing key, or undefined when the Secret itself is missing. */
  readonly missingKey: string | undefined;
  constructor(namespace: string, secretName: string, missingKey?: string) {
    super(
      missingKey === undefined
        ? `Secret ${namespace}/${secretName} referenced by spec.credentials.secretRef does not exist.`
        : `Secret ${namespace}/${secretName} has no non-empty key "${missingKey}"; add it or fix spec.credentials.secretRef.`,
    );
    this.name = 'CredentialsNotFoundError';
    this.namespace = namespace;
    this.secretName = secretName;
    this.missingKey = missingKey;
  }
}

/**
 * The operator may not read Secrets in the object's namespace: the namespace is not in --secret-namespaces, or RBAC
 * answered 403. A CredentialsNotFoundError, so the reconciler reports it the same way (reason CredentialsNotFound),
 * with a message naming the setting that allows it.
 */
export class SecretAccessDeniedError extends CredentialsNotFoundError {
  constructor(namespace: string, secretName: string) {
    super(namespace, secretName);
    this.name = 'SecretAccessDeniedError';
    this.message =
      `The operator is not allowed to read Secrets in namespace ${namespace} (spec.credentials.secretRef ${secretName}); ` +
      `add ${namespace} to the Helm value secretRefAccess.namespaces (or set secretRefAccess.clusterWide=true), ` +
      'or without Helm grant it Secret access there and list the namespace in --secret-namespaces.';
  }
}

/** Which namespaces' Secrets the operator may read: 'all', or a list (empty = none). */
export type SecretNamespaces = 'all' | readonly string[];

/** True when `namespace` is one where spec.credentials.secretRef may be used. */
export function secretsAllowedIn(allowed: SecretNamespaces, namespace: string): boolean {
  return allowed === 'all' || allowed.includes(namespace);
}

/** Resolves a secretRef to CloudCredentials (implemented by SecretCredentialsReader; faked in tests). */
export interface CredentialsReader {
  read(namespace: string, secretName: string): Promise<CloudCredentials>;
}

/** A digest of a Secret's data (never the data itself), to tell a change of the values from a metadata update. */
function digestOf(data: Record<string, string>): string {
  const entries = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

export class SecretCredentialsReader implements CredentialsReader {
  readonly #api: CoreV1Api;
  readonly #allowed: SecretNamespaces;
  /** `namespace/name` → digest of the data the last read returned. */
  readonly #read = new Map<string, string>();

  /** `allowed`: the --secret-namespaces setting; Secrets elsewhere are never requested. Default 'all'. */
  constructor(kc: KubeConfig, allowed: SecretNamespaces = 'all') {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#allowed = allowed;
  }

  /**
   * Reads Secret `namespace/secretName` → `{ type: 'static', accessKeyId, accessKeySecret, securityToken? }`.
   * Throws CredentialsNotFoundError for a missing Secret or key (or an empty value), SecretAccessDeniedError (a
   * CredentialsNotFoundError) when the namespace is not allowed or RBAC answers 403, and a wrapped Error for other
   * API failures, never with any Secret content.
   */
  async read(namespace: string, secretName: string): Promise<CloudCredentials> {
    if (!secretsAllowedIn(this.#allowed, namespace)) throw new SecretAccessDeniedError(namespace, secretName);
    let data: Record<string, string>;
    try {
      const secret = await this.#api.readNamespacedSecret({ name: secretName, namespace });
      data = secret.data ?? {};
      this.#read.set(`${namespace}/${secretName}`, digestOf(data));
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) throw new CredentialsNotFoundError(namespace, secretName);
      if (httpStatusOf(err) === 403) throw new SecretAccessDeniedError(namespace, secretName);
      throw new Error(`reading Secret ${namespace}/${secretName} failed: ${describeApiError(err)}`, { cause: err });
    }
    const value = (key: string): string | undefined => {
      const b64 = data[key];
      if (b64 === undefined) return undefined;
      const decoded = Buffer.from(b64, 'base64').toString('utf8').trim();
      return decoded === '' ? undefined : decoded;
    };
    const accessKeyId = value(SecretKeys.AccessKeyId);
    if (accessKeyId === undefined) throw new CredentialsNotFoundError(namespace, secretName, SecretKeys.AccessKeyId);
    const accessKeySecret = value(SecretKeys.AccessKeySecret);
    if (accessKeySecret === undefined)
      throw new CredentialsNotFoundError(namespace, secretName, SecretKeys.AccessKeySecret);
    const securityToken = value(SecretKeys.SecurityToken);
    return {
      type: 'static',
      accessKeyId,
      accessKeySecret,
      ...(securityToken === undefined ? {} : { securityToken }),
    };
  }

  /**
   * Whether Secret `key` (`namespace/name`) now holds other data than the last read returned: one targeted GET (the
   * informer sees metadata only). True when nothing was read yet or the Secret is gone; the digest is then updated.
   */
  async dataChanged(key: string): Promise<boolean> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    let digest: string;
    try {
      digest = digestOf((await this.#api.readNamespacedSecret({ name, namespace })).data ?? {});
    } catch (err: unknown) {
      if (httpStatusOf(err) !== 404) throw err;
      digest = 'gone';
    }
    const changed = this.#read.get(key) !== digest;
    this.#read.set(key, digest);
    return changed;
  }
}
