// Turns the port's CloudCredentials into an @alicloud/credentials object for the ECS client, and names the identity
// (for the rate budget and the client cache) without ever using a secret in the name.
import { createHash } from 'node:crypto';
import Credentials from '@alicloud/credentials';
import { AssumeRoleProvider, OidcRoleProvider, type RrsaOptions, type StsOptions } from './assume-role.ts';
import { transientFailure } from './ecs-errors.ts';
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
 * How STS sessions are obtained: STS's endpoint, the identity that assumes a roleArn (default: the operator's own),
 * and RRSA, which makes the operator's own identity an AssumeRoleWithOIDC session at that same endpoint.
 */
export interface RoleOptions {
  sts?: StsOptions;
  signer?: CloudCredentials;
  rrsa?: RrsaOptions;
}

/**
 * Builds the SDK credential for `c`:
 * - `default`: with `role.rrsa`, AssumeRoleWithOIDC at `role.sts` (assume-role.ts, docs/adr/0034); otherwise the
 *   default chain (env, CLI profile, credentials file, ECS instance role, URI). Built on first use, not at start-up,
 *   because the chain sticks to whichever provider it tried last (reference §5.2).
 * - `static`: `access_key`, or `sts` when a security token is present.
 * - `roleArn`: AssumeRole on `roleArn` (assume-role.ts), signed with the operator's own identity (the default chain
 *   unless `role.signer` says otherwise); the session is cached and refreshed 15 minutes before expiry.
 * Every failure to obtain credentials surfaces as CredentialsProviderError. Throws only if the SDK rejects the
 * configuration.
 */
export function buildSdkCredential(c: CloudCredentials, role: RoleOptions = {}): SdkCredential {
  switch (c.type) {
    case 'default':
      if (role.rrsa !== undefined) {
        const provider = new OidcRoleProvider({
          ...role.rrsa,
          sessionName: ROLE_SESSION_NAME,
          ...(role.sts === undefined ? {} : { sts: role.sts }),
        });
        return new Credentials.default(
          null,
          asCredentialsFailure(provider, 'RRSA (STS AssumeRoleWithOIDC)', role.rrsa.roleArn, 'rrsa'),
        );
      }
      return new Credentials.default(
        null,
        asCredentialsFailure(Credentials.DefaultCredentialsProvider.builder().build(), 'the default credential chain'),
      );
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
      const signer = buildSdkCredential(role.signer ?? { type: 'default' }, role);
      const provider = new AssumeRoleProvider({
        roleArn: c.roleArn,
        sessionName: ROLE_SESSION_NAME,
        signer,
        ...(role.sts === undefined ? {} : { sts: role.sts }),
      });
      return new Credentials.default(
        null,
        asCredentialsFailure(provider, 'assuming spec.credentials.roleArn (STS AssumeRole)', c.roleArn),
      );
    }
  }
}

/**
 * Obtaining credentials failed before any ECS call was made (STS AssumeRole, the default chain, or the identity that
 * signs AssumeRole). Carries no `code` or `statusCode` of its own, so the ECS error classifier never mistakes it
 * for an ECS answer; it is recognised by name, and `transient` (decided by type and code from the cause: STS
 * throttling, a 5xx, a timeout or a reset) says whether a retry may help. The original error is kept as `cause`
 * (never logged verbatim: it may carry the role ARN's account and request ids, but no secret).
 */
export class CredentialsProviderError extends Error {
  readonly transient: boolean;
  /** The role being assumed, when that failed (an ARN names an account and a role, never a secret). */
  readonly role: string | undefined;
  /** STS's error code for the refusal (e.g. NoPermission, EntityNotExist.Role), when it gave one. */
  readonly stsCode: string | undefined;
  /** `rrsa` when the role is the operator's own RRSA role (AssumeRoleWithOIDC), not a spec.credentials.roleArn. */
  readonly source: 'rrsa' | undefined;
  constructor(
    message: string,
    transient: boolean,
    options?: { cause?: unknown; role?: string | undefined; stsCode?: string | undefined; source?: 'rrsa' | undefined },
  ) {
    super(message, options);
    this.name = 'CredentialsProviderError';
    this.transient = transient;
    this.role = options?.role;
    this.stsCode = options?.stsCode;
    this.source = options?.source;
  }
}

/** An STS error code from the SDK's error (its `code`), if it looks like one. */
function stsCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Za-z][\w.]{0,99}$/.test(code) ? code : undefined;
}

type Provider = { getCredentials(): Promise<unknown>; getProviderName(): string };

/** Wraps a provider so that every failure to get credentials surfaces as CredentialsProviderError. */
export function asCredentialsFailure<P extends Provider>(
  provider: P,
  what = 'the credentials provider',
  role?: string,
  source?: 'rrsa',
): P {
  return {
    getProviderName: () => provider.getProviderName(),
    getCredentials: async () => {
      try {
        return await provider.getCredentials();
      } catch (err: unknown) {
        // A failure of the signing identity is already wrapped: keep its verdict.
        const transient = err instanceof CredentialsProviderError ? err.transient : transientFailure(err);
        // A failure of the signer (the operator's own identity) is not the role's: keep its own subject.
        const own = err instanceof CredentialsProviderError;
        throw new CredentialsProviderError(`could not obtain cloud credentials: ${what} failed`, transient, {
          cause: err,
          role: own ? err.role : role,
          stsCode: own ? err.stsCode : stsCodeOf(err),
          source: own ? err.source : source,
        });
      }
    },
  } as P;
}
