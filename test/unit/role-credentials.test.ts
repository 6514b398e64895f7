// Failures to obtain credentials (issue #8 point 8, issue 14 item 8): a roleArn whose STS call fails is a credentials
// problem, never "ECS could not be reached" or an unknown ECS code; and whether it is worth a retry is decided from
// the cause's type and code (STS throttling, a 5xx, a timeout, a reset), never from its message text.
import { describe, expect, it } from '@jest/globals';
import Credentials from '@alicloud/credentials';
import { Reason } from '../../src/api/reasons.ts';
import { asCredentialsFailure, CredentialsProviderError } from '../../src/cloud/credentials.ts';
import { classifyEcsError } from '../../src/cloud/ecs-errors.ts';
import { outcomeUnknown } from '../../src/cloud/port.ts';

type Row = [why: string, make: () => Error, kind: 'transient' | 'terminal', reason: Reason, code: string];

const sdkError = (name: string, code: string, statusCode: number) =>
  Object.assign(new Error(`${code}: code: ${statusCode}, injected`), { name, code, statusCode });

const rows: Row[] = [
  [
    'the STS endpoint refuses the connection: it may be back on the next try',
    () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }),
    'transient',
    Reason.CloudUnreachable,
    'StsUnavailable',
  ],
  [
    'the STS endpoint times out: a slow STS is not a bad role',
    () => Object.assign(new Error('request timeout'), { name: 'RequestTimeoutError' }),
    'transient',
    Reason.CloudUnreachable,
    'StsUnavailable',
  ],
  [
    'STS throttles AssumeRole (100/s per account): waiting helps',
    () => sdkError('ThrottlingError', 'Throttling.User', 400),
    'transient',
    Reason.CloudUnreachable,
    'StsUnavailable',
  ],
  [
    'STS fails with a 5xx: a server fault, not a refusal',
    () => sdkError('ServerError', 'InternalError', 500),
    'transient',
    Reason.CloudUnreachable,
    'StsUnavailable',
  ],
  [
    'STS refuses the role (trust policy, missing sts:AssumeRole): only a fix helps',
    () => sdkError('ClientError', 'NoPermission', 403),
    'terminal',
    Reason.InvalidCredentials,
    'CredentialsUnavailable',
  ],
  [
    'the role does not exist: only a fix helps',
    () => sdkError('ClientError', 'EntityNotExist.Role', 404),
    'terminal',
    Reason.InvalidCredentials,
    'CredentialsUnavailable',
  ],
  [
    'a bare message, whatever it says ("timeout"), carries no type or code: not judged transient',
    () => new Error('refresh session token failed: timeout Throttling'),
    'terminal',
    Reason.InvalidCredentials,
    'CredentialsUnavailable',
  ],
];

function failingProvider(make: () => Error) {
  return { getProviderName: () => 'ram_role_arn/test', getCredentials: async () => Promise.reject(make()) };
}

describe('asCredentialsFailure', () => {
  it.each(rows)('%s', async (_why, make, kind, reason, code) => {
    const credential = new Credentials.default(null, asCredentialsFailure(failingProvider(make)));
    const err = await credential.getCredential().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CredentialsProviderError);
    const classified = classifyEcsError(err);
    expect([classified.kind, classified.reason, classified.code]).toEqual([kind, reason, code]);
    expect(classified.message).toMatch(/could not obtain cloud credentials/);
    // Nothing reached ECS: a write stopped here is unsent, not unknown.
    expect(outcomeUnknown(classified)).toBe(false);
  });

  it('keeps the verdict of a wrapped signer failure (the identity that assumes the role)', async () => {
    const inner = new CredentialsProviderError('could not obtain cloud credentials', true);
    const credential = new Credentials.default(null, asCredentialsFailure(failingProvider(() => inner)));
    const err = await credential.getCredential().catch((e: unknown) => e);
    expect((err as CredentialsProviderError).transient).toBe(true);
  });

  it('passes working credentials through unchanged', async () => {
    const provider = {
      getProviderName: () => 'ram_role_arn/default',
      getCredentials: async () => ({
        accessKeyId: 'STS.itest',
        accessKeySecret: 'itest-secret',
        securityToken: 'itest-token',
        providerName: 'ram_role_arn/default',
      }),
    };
    const m = await new Credentials.default(null, asCredentialsFailure(provider as never)).getCredential();
    expect([m.accessKeyId, m.securityToken]).toEqual(['STS.itest', 'itest-token']);
  });
});
