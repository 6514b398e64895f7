// Turns the port's CloudCredentials into an @alicloud/credentials object for the ECS client, and names the identity
// (for the rate budget and the client cache) without ever using a secret in the name.
import { createHash } from 'node:crypto';
import Credentials from '@alicloud/credentials';
import type { CloudCredentials } from './port.ts';

/** Session name the operator uses when it assumes a role, visible in ActionTrail. */
export const ROLE_SESSION_NAME = 'imageshare-operator';

export interface CredentialIdentity {
  /** Who calls ECS: `default`, `static:<accessKeyId>` or `role:<roleArn>`. Never contains a secret. */
  key: string;
  /**
   * Changes whenever the secret material changes while the identity stays the same (a rotated secret or a fresh
   * STS token under the same key ID), so cached clients are rebuilt. A truncated SHA-256, never the secret itself.
   */
  fingerprint: string;
}

/** The identity of `c`. Pure; never throws. */
export function credentialIdentity(c: CloudCredentials): CredentialIdentity {
  switch (c.type) {
    case 'default':
      return { key: 'default', fingerprint: 'default' };
    case 'roleArn':
      return { key: `role:${c.roleArn}`, fingerprint: 'role' };
    case 'static': {
      const h = createHash('sha256').update(`${c.accessKeySecret}\u0000${c.securityToken ?? ''}`);
      return { key: `static:${c.accessKeyId}`, fingerprint: h.digest('hex').slice(0, 16) };
    }
  }
}

export type SdkCredential = InstanceType<typeof Credentials.default>;

/**
 * Builds the SDK credential for `c`:
 * - `default`: the default chain (env, RRSA/OIDC, CLI profile, credentials file, ECS instance role, URI). Built on
 *   first use, not at start-up, because the chain sticks to whichever provider it tried last (reference §5.2).
 * - `static`: `access_key`, or `sts` when a security token is present.
 * - `roleArn`: AssumeRole on `roleArn`, signed with the operator's own identity (the default chain); the provider
 *   caches the session and refreshes it 15 minutes before expiry.
 * Throws only if the SDK rejects the configuration (e.g. an empty role ARN).
 */
export function buildSdkCredential(c: CloudCredentials): SdkCredential {
  switch (c.type) {
    case 'default':
      return new Credentials.default();
    case 'static':
      return new Credentials.default(
        new Credentials.Config(
          c.securityToken === undefined
            ? { type: 'access_key', accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret }
            : {
                type: 'sts',
                accessKeyId: c.accessKeyId,
                accessKeySecret: c.accessKeySecret,
                securityToken: c.securityToken,
              },
        ),
      );
    case 'roleArn': {
      const provider = Credentials.RAMRoleARNCredentialsProvider.builder()
        .withCredentialsProvider(Credentials.DefaultCredentialsProvider.builder().build())
        .withRoleArn(c.roleArn)
        .withRoleSessionName(ROLE_SESSION_NAME)
        .build();
      return new Credentials.default(null, asCredentialsFailure(provider));
    }
  }
}

/**
 * Obtaining credentials failed before any ECS call was made (here: the STS AssumeRole call, or the operator identity
 * it is signed with). Deliberately carries no `code`, `statusCode` or transport text: the ECS error classifier must
 * not mistake an STS refusal or an unreachable STS endpoint for an ECS answer or for "ECS could not be reached";
 * its message matches the classifier's credentials rule. The original error is kept as `cause` (never logged
 * verbatim: it may carry the role ARN's account and request ids, but no secret).
 */
export class CredentialsProviderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialsProviderError';
  }
}

type Provider = { getCredentials(): Promise<unknown>; getProviderName(): string };

/** Wraps a provider so that every failure to get credentials surfaces as CredentialsProviderError. */
export function asCredentialsFailure<P extends Provider>(provider: P): P {
  return {
    getProviderName: () => provider.getProviderName(),
    getCredentials: async () => {
      try {
        return await provider.getCredentials();
      } catch (err: unknown) {
        throw new CredentialsProviderError(
          'could not obtain cloud credentials: assuming spec.credentials.roleArn (STS AssumeRole) failed',
          {
            cause: err,
          },
        );
      }
    },
  } as P;
}
