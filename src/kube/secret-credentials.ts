// Static cloud credentials from a Secret in the ImageShare's own namespace (never another namespace, so a user
// cannot borrow credentials they could not read themselves). Values are never logged or put in error messages.
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

/** Resolves a secretRef to CloudCredentials (implemented by SecretCredentialsReader; faked in tests). */
export interface CredentialsReader {
  read(namespace: string, secretName: string): Promise<CloudCredentials>;
}

export class SecretCredentialsReader implements CredentialsReader {
  readonly #api: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CoreV1Api);
  }

  /**
   * Reads Secret `namespace/secretName` → `{ type: 'static', accessKeyId, accessKeySecret, securityToken? }`.
   * Throws CredentialsNotFoundError for a missing Secret or key (or an empty value), and a wrapped Error for other
   * API failures (e.g. 403 when the operator may not read Secrets in that namespace) without any Secret content.
   */
  async read(namespace: string, secretName: string): Promise<CloudCredentials> {
    let data: Record<string, string>;
    try {
      const secret = await this.#api.readNamespacedSecret({ name: secretName, namespace });
      data = secret.data ?? {};
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) throw new CredentialsNotFoundError(namespace, secretName);
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
    if (accessKeySecret === undefined) throw new CredentialsNotFoundError(namespace, secretName, SecretKeys.AccessKeySecret);
    const securityToken = value(SecretKeys.SecurityToken);
    return {
      type: 'static',
      accessKeyId,
      accessKeySecret,
      ...(securityToken === undefined ? {} : { securityToken }),
    };
  }
}
