// spec.credentials.roleArn against the emulator's STS AssumeRole (issue 14 item 8): the role's session signs the ECS
// calls, and STS failures are classified by type and code: throttling, a 5xx or a stalled answer are transient
// (StsUnavailable or the request deadline), a refusal is terminal InvalidCredentials, and nothing reached ECS.
import { describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import { AssumeRoleProvider } from '../../src/cloud/assume-role.ts';
import { buildSdkCredential } from '../../src/cloud/credentials.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { CloudError, type ImageRef, outcomeUnknown } from '../../src/cloud/port.ts';
import type { SeedInput } from '../emulator/seed.ts';
import { CREDS, OWNER, REGION, RECIPIENTS, world } from './adapter-fixtures.ts';
import { useEmulator } from './use-emulator.ts';

const ROLE_KEY = {
  accessKeyId: 'STS.testAdapterRole01',
  accessKeySecret: 'test-only-secret-role-session',
  securityToken: 'test-only-role-session-token',
};

/** The adapter world, where the owner also holds an STS key: what AssumeRole on its role hands out. */
function seed(): SeedInput {
  const base = world();
  return { ...base, owners: (base.owners ?? []).map((o) => ({ ...o, keys: [...(o.keys ?? []), ROLE_KEY] })) };
}

const emu = useEmulator(seed);
const ref: ImageRef = { regionId: REGION, imageId: 'm-test' };
const ROLE = `acs:ram::${OWNER}:role/image-sharer`;

function roleSharing(timeoutMs = 2000) {
  return createEcsImageSharingFactory({
    endpoint: emu().endpoint,
    protocol: 'http',
    timeoutMs,
    qps: 1000,
    burst: 1000,
    maxAttempts: 1,
    role: { sts: { endpoint: emu().endpoint, protocol: 'http' }, signer: CREDS },
  }).forCredentials({ type: 'roleArn', roleArn: ROLE });
}

async function failure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(err)}`);
  return err;
}

describe('roleArn through STS AssumeRole', () => {
  it('assumes the role once, signed by the operator identity, and signs ECS calls with the session', async () => {
    const s = roleSharing();
    await s.observe(ref);
    await s.grant(ref, RECIPIENTS.slice(0, 1));
    const calls = (await emu().admin.calls()).calls.map((c) => [c.action, c.accessKeyId, c.code]);
    expect(calls).toEqual([
      ['AssumeRole', CREDS.type === 'static' ? CREDS.accessKeyId : '', 'OK'],
      ['DescribeImages', ROLE_KEY.accessKeyId, 'OK'],
      ['DescribeImageSharePermission', ROLE_KEY.accessKeyId, 'OK'],
      ['ModifyImageSharePermission', ROLE_KEY.accessKeyId, 'OK'],
    ]);
  });

  const transient: [string, Record<string, unknown>, string, Reason][] = [
    ['STS throttles AssumeRole', { type: 'error', code: 'Throttling.User' }, 'StsUnavailable', Reason.CloudUnreachable],
    [
      'STS is unavailable (503)',
      { type: 'error', code: 'ServiceUnavailable' },
      'StsUnavailable',
      Reason.CloudUnreachable,
    ],
    ['STS resets the connection', { type: 'reset' }, 'StsUnavailable', Reason.CloudUnreachable],
    [
      'STS drips its answer forever (the ECS call deadline covers credentials too)',
      { type: 'drip', ms: 100, forever: true },
      'DeadlineExceeded',
      Reason.CloudUnreachable,
    ],
  ];
  it.each(transient)('%s → transient, nothing sent to ECS, and the next try works', async (_w, fault, code, reason) => {
    await emu().admin.addFault({ ...fault, action: 'AssumeRole', times: 1 } as never);
    // A short deadline only where it is the subject (the dripping answer); a loaded machine needs room elsewhere.
    const s = roleSharing(fault.type === 'drip' ? 800 : 5000);
    const { results, error } = await s.grant(ref, RECIPIENTS.slice(0, 1));
    expect([error?.code, error?.kind, error?.reason]).toEqual([code, 'transient', reason]);
    // Refused before sending: the grant is not unknown (a stalled STS answer cannot be told apart, so it is).
    if (code === 'StsUnavailable')
      expect([results.map((r) => r.ok), error && outcomeUnknown(error)]).toEqual([[false], false]);
    expect((await emu().admin.calls()).calls.filter((c) => c.action !== 'AssumeRole')).toEqual([]);
    await expect(s.observe(ref)).resolves.toMatchObject({ status: 'Available' });
  });

  const terminal: [string, string][] = [
    ['STS refuses the role (trust policy)', 'NoPermission'],
    ['the role does not exist', 'EntityNotExist.Role'],
  ];
  it.each(terminal)('%s (%s) → terminal InvalidCredentials: only a fix helps', async (_w, code) => {
    await emu().admin.addFault({ type: 'error', code, action: 'AssumeRole' });
    const err = await failure(roleSharing().observe(ref));
    // The message names the role and STS's code, so the person who reads the status knows what to fix.
    expect(err.message).toContain(`assume role ${ROLE} (${code})`);
    expect([err.code, err.kind, err.reason]).toEqual(['CredentialsUnavailable', 'terminal', Reason.InvalidCredentials]);
    expect(err.message).not.toMatch(/LTAI|STS\.|secret/);
  });

  it('a role of an account the emulator does not know → terminal InvalidCredentials (EntityNotExist.Role)', async () => {
    const s = createEcsImageSharingFactory({
      endpoint: emu().endpoint,
      protocol: 'http',
      timeoutMs: 2000,
      qps: 1000,
      burst: 1000,
      maxAttempts: 1,
      role: { sts: { endpoint: emu().endpoint, protocol: 'http' }, signer: CREDS },
    }).forCredentials({ type: 'roleArn', roleArn: 'acs:ram::1999999999999999:role/nobody' });
    const err = await failure(s.observe(ref));
    expect([err.code, err.kind]).toEqual(['CredentialsUnavailable', 'terminal']);
    expect((await emu().admin.calls()).calls.map((c) => [c.action, c.code])).toEqual([
      ['AssumeRole', 'EntityNotExist.Role'],
    ]);
  });

  it('caches the session, refreshes it 15 min before expiry, and keeps it through a failed early refresh', async () => {
    let offsetMs = 0;
    const provider = new AssumeRoleProvider({
      roleArn: ROLE,
      sessionName: 'test',
      signer: buildSdkCredential(CREDS),
      sts: { endpoint: emu().endpoint, protocol: 'http' },
      now: () => Date.now() + offsetMs,
    });
    const assumeCalls = async () =>
      (await emu().admin.calls()).calls.filter((c) => c.action === 'AssumeRole').map((c) => c.code);
    await provider.getCredentials();
    offsetMs = 30 * 60_000; // half-way: cached
    await provider.getCredentials();
    expect(await assumeCalls()).toEqual(['OK']);
    await emu().admin.addFault({ type: 'error', code: 'ServiceUnavailable', action: 'AssumeRole' });
    offsetMs = 50 * 60_000; // inside the refresh window: the refresh fails, the session still has 10 minutes
    await expect(provider.getCredentials()).resolves.toMatchObject({ accessKeyId: ROLE_KEY.accessKeyId });
    offsetMs = 59.5 * 60_000; // under a minute left: a failed refresh is an error
    await expect(provider.getCredentials()).rejects.toMatchObject({ name: 'ServerError', code: 'ServiceUnavailable' });
    expect(await assumeCalls()).toEqual(['OK', 'ServiceUnavailable', 'ServiceUnavailable']);
  });
});
