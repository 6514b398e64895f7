// A roleArn (STS AssumeRole) failure is a credentials problem (issue #8, point 8): it used to surface as "ECS could
// not be reached" (an unreachable STS endpoint) or as an unknown ECS error code (an STS refusal).
import { describe, expect, it } from '@jest/globals';
import Credentials from '@alicloud/credentials';
import { Reason } from '../../src/api/reasons.ts';
import { asCredentialsFailure, CredentialsProviderError } from '../../src/cloud/credentials.ts';
import { classifyEcsError } from '../../src/cloud/ecs-errors.ts';

const stsFailures: Array<[string, () => Error]> = [
  [
    'the STS endpoint refuses the connection',
    () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }),
  ],
  ['the STS endpoint times out', () => Object.assign(new Error('request timeout'), { name: 'RequestTimeoutError' })],
  [
    'STS refuses the role (trust policy, missing sts:AssumeRole)',
    () =>
      Object.assign(new Error('refresh RoleArn sts token err: NoPermission'), {
        name: 'ClientError',
        code: 'NoPermission',
        statusCode: 403,
      }),
  ],
];

function failingProvider(make: () => Error) {
  return { getProviderName: () => 'ram_role_arn/default', getCredentials: async () => Promise.reject(make()) };
}

describe('asCredentialsFailure (roleArn)', () => {
  it.each(stsFailures)('%s → InvalidCredentials, terminal, with a message about credentials', async (_why, make) => {
    // Why: before the wrapper the first two classified as CloudUnreachable and the third as an unknown ECS code.
    expect(classifyEcsError(make()).reason).not.toBe(Reason.InvalidCredentials);
    const credential = new Credentials.default(null, asCredentialsFailure(failingProvider(make)));
    const err = await credential.getCredential().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CredentialsProviderError);
    const classified = classifyEcsError(err);
    expect([classified.reason, classified.kind]).toEqual([Reason.InvalidCredentials, 'terminal']);
    expect(classified.message).toMatch(/could not obtain cloud credentials/);
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
