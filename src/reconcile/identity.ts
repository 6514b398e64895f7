// The cloud identity an object's writes are made with, as a fingerprint safe to keep in status (ADR 0020, "Identity
// at deletion"): cleanup may take "image not found" as done only when it looks with the identity that granted.
import { createHash } from 'node:crypto';
import type { CredentialsSpec } from '../api/types.ts';
import type { CloudCredentials } from '../cloud/port.ts';

/**
 * `default` (the operator's own identity), `role:<roleArn>`, or `secret:<name>:<12 hex of SHA-256(access key ID)>`.
 * Never a secret and never the access key ID itself.
 */
export function identityOf(spec: CredentialsSpec | undefined, credentials: CloudCredentials): string {
  switch (credentials.type) {
    case 'default':
      return 'default';
    case 'roleArn':
      return `role:${credentials.roleArn}`;
    case 'static': {
      const key = createHash('sha256').update(credentials.accessKeyId).digest('hex').slice(0, 12);
      return `secret:${spec?.secretRef?.name ?? ''}:${key}`;
    }
  }
}
