// The cloud identity an object's writes are made with, as a fingerprint safe to keep in status (ADR 0020, "Identity
// at deletion"): cleanup may take "image not found" as done only when it looks with the identity that granted.
import { createHash } from 'node:crypto';
import type { CredentialsSpec } from '../api/types.ts';
import type { CloudCredentials } from '../cloud/port.ts';

/**
 * `default[:<operator>]` (the operator's own identity, see operatorIdentityOf), `role:<roleArn>`, or
 * `secret:<name>:<12 hex of SHA-256(access key ID)>`. Never a secret and never the access key ID itself.
 */
export function identityOf(
  spec: CredentialsSpec | undefined,
  credentials: CloudCredentials,
  operator?: string,
): string {
  switch (credentials.type) {
    case 'default':
      return operator ? `default:${operator}` : 'default';
    case 'roleArn':
      return `role:${credentials.roleArn}`;
    case 'static': {
      return `secret:${spec?.secretRef?.name ?? ''}:${hashed(credentials.accessKeyId)}`;
    }
  }
}

/**
 * The operator's own identity as the default credential chain will pick it, read from the environment in the
 * chain's order (an access key, then an RRSA/OIDC role, then an ECS instance role): `key:<hash>`, `role:<roleArn>`,
 * `ecs-role:<name>`; undefined when none is set (a profile file or a credentials URI, not fingerprinted).
 */
export function operatorIdentityOf(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.ALIBABA_CLOUD_ACCESS_KEY_ID) return `key:${hashed(env.ALIBABA_CLOUD_ACCESS_KEY_ID)}`;
  if (env.ALIBABA_CLOUD_ROLE_ARN && env.ALIBABA_CLOUD_OIDC_PROVIDER_ARN) return `role:${env.ALIBABA_CLOUD_ROLE_ARN}`;
  if (env.ALIBABA_CLOUD_ECS_METADATA) return `ecs-role:${env.ALIBABA_CLOUD_ECS_METADATA}`;
  return undefined;
}

function hashed(accessKeyId: string): string {
  return createHash('sha256').update(accessKeyId).digest('hex').slice(0, 12);
}
