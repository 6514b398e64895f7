// RRSA for the operator's own identity (issue 18 item 6, docs/adr/0034): the provider built for `default` credentials
// when RRSA is configured calls AssumeRoleWithOIDC at the configured STS endpoint (the stand-in,
// test/emulator/sts-https.ts, whose checks are sts-oidc.ts) with the token file's content, and ECS calls are signed
// by the session STS issued. Refusals are terminal and name the role and STS's code; outages are transient; the token
// never appears in an error.
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { CloudError, type ImageRef } from '../../src/cloud/port.ts';
import { type StsFront, type StsOutage, startStsFront } from '../emulator/sts-https.ts';
import { signJwt } from '../emulator/sts-oidc.ts';
import { OWNER, REGION, RECIPIENTS, world } from './adapter-fixtures.ts';
import { useEmulator } from './use-emulator.ts';

const emu = useEmulator(() => world());
const ref: ImageRef = { regionId: REGION, imageId: 'm-test' };
const ISSUER = 'https://oidc.test/cluster-1';
const PROVIDER = `acs:ram::${OWNER}:oidc-provider/ack-rrsa-cluster-1`;
const ROLE = `acs:ram::${OWNER}:role/imageshare-operator`;
const UNTRUSTING_ROLE = `acs:ram::${OWNER}:role/trusts-another-cluster`;
const SUBJECT = 'system:serviceaccount:imageshare-system:imageshare-operator';

const issuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'test-issuer-key-1';
const pem = (k: typeof issuerKey) => k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const nowS = () => Math.floor(Date.now() / 1000);
const claims = (over: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: ['sts.aliyuncs.com'],
  sub: SUBJECT,
  iat: nowS(),
  exp: nowS() + 3600,
  ...over,
});
const goodToken = () => signJwt(claims(), pem(issuerKey), KID);

let dir: string;
let sts: StsFront;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rrsa-contract-'));
  const jwk = { ...(issuerKey.publicKey.export({ format: 'jwk' }) as JsonWebKey), kid: KID, alg: 'RS256', use: 'sig' };
  sts = await startStsFront(emu().port, dir, {
    plainHttp: true,
    oidc: {
      admin: emu().admin,
      providers: [{ arn: PROVIDER, issuer: ISSUER, audiences: ['sts.aliyuncs.com'], jwks: { keys: [jwk] } }],
      roles: [
        { arn: ROLE, account: OWNER, trustedProviders: [PROVIDER], subjects: [SUBJECT] },
        { arn: UNTRUSTING_ROLE, account: OWNER, trustedProviders: [`acs:ram::${OWNER}:oidc-provider/other`] },
      ],
    },
  });
});

beforeEach(() => sts.setOutage(undefined));

afterAll(async () => {
  await sts?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The operator's own identity (default credentials) under RRSA with `token` in the token file. */
async function rrsaSharing(token: string, roleArn = ROLE, providerArn = PROVIDER) {
  const tokenFile = join(dir, `token-${Math.random().toString(36).slice(2)}`);
  await writeFile(tokenFile, token);
  const sharing = createEcsImageSharingFactory({
    endpoint: emu().endpoint,
    protocol: 'http',
    timeoutMs: 2000,
    qps: 1000,
    burst: 1000,
    maxAttempts: 1,
    role: {
      sts: { endpoint: sts.endpoint, protocol: 'http' },
      rrsa: { roleArn, oidcProviderArn: providerArn, tokenFile },
    },
  }).forCredentials({ type: 'default' });
  return { sharing, tokenFile };
}

async function failure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(err)}`);
  return err;
}

describe('RRSA: the operator identity through AssumeRoleWithOIDC', () => {
  it("shares with the session STS issued for the role: ECS sees the session's key in the role's account", async () => {
    const before = sts.oidcAnswers().length;
    const { sharing } = await rrsaSharing(goodToken());
    await sharing.observe(ref);
    await sharing.grant(ref, RECIPIENTS.slice(0, 1));
    const granted = sts.oidcAnswers().slice(before);
    expect(granted.map((a) => [a.code, a.roleArn])).toEqual([['OK', ROLE]]);
    const calls = (await emu().admin.calls()).calls;
    expect(new Set(calls.map((c) => c.accessKeyId))).toEqual(new Set([granted[0]?.accessKeyId]));
    expect(calls.map((c) => [c.action, c.code])).toEqual([
      ['DescribeImages', 'OK'],
      ['DescribeImageSharePermission', 'OK'],
      ['ModifyImageSharePermission', 'OK'],
    ]);
  });

  // Each row: why STS refuses, the token or trust that makes it, and STS's documented code. All are terminal: the
  // token, the role or its trust must change, and no ECS call is made.
  const refusals: [string, () => string, string, string, string][] = [
    [
      'a token signed by a key the provider does not publish is forged',
      () => signJwt(claims(), pem(foreignKey), KID),
      ROLE,
      PROVIDER,
      'AuthenticationFail.OIDCToken.InvalidSignature',
    ],
    [
      'a token for another audience was not meant for STS',
      () => signJwt(claims({ aud: ['kubernetes.default.svc'] }), pem(issuerKey), KID),
      ROLE,
      PROVIDER,
      'AuthenticationFail.OIDCToken.AudienceNotMatch',
    ],
    [
      'an expired token (the kubelet stopped rotating it) proves nothing',
      () => signJwt(claims({ iat: nowS() - 7200, exp: nowS() - 60 }), pem(issuerKey), KID),
      ROLE,
      PROVIDER,
      'AuthenticationFail.OIDCToken.Expired',
    ],
    [
      "a role whose trust policy names another cluster's provider refuses this one",
      goodToken,
      UNTRUSTING_ROLE,
      PROVIDER,
      'AuthenticationFail.NoPermission',
    ],
    [
      'an OIDC provider RAM does not know cannot vouch for anyone',
      goodToken,
      ROLE,
      `acs:ram::${OWNER}:oidc-provider/unregistered`,
      'AuthenticationFail.NoPermission',
    ],
    [
      'a role that does not exist cannot be assumed',
      goodToken,
      `acs:ram::${OWNER}:role/missing`,
      PROVIDER,
      'EntityNotExist.Role',
    ],
  ];
  it.each(refusals)('%s → terminal, naming the role and STS code', async (_why, token, role, provider, code) => {
    const t = token();
    const { sharing } = await rrsaSharing(t, role, provider);
    const err = await failure(sharing.observe(ref));
    expect([err.code, err.kind, err.reason]).toEqual(['CredentialsUnavailable', 'terminal', Reason.InvalidCredentials]);
    expect(err.message).toContain(`RRSA identity, role ${role} (${code})`);
    expect(sts.oidcAnswers().at(-1)).toEqual({ code, roleArn: role });
    expect((await emu().admin.calls()).calls).toEqual([]);
    // The token is a credential: it is never part of what the operator reports.
    expect(`${err.message} ${JSON.stringify(err)}`).not.toContain(t.split('.')[2]);
  });

  const outages: [string, StsOutage | 'refused'][] = [
    ['STS is unavailable (503 ServiceUnavailable): it will come back', 'unavailable'],
    ['STS throttles (Throttling.User): a later call gets through', 'throttled'],
    ['STS refuses connections (down or restarting): a later call gets through', 'refused'],
  ];
  it.each(outages)('%s → transient, and the next call succeeds', async (_why, outage) => {
    const { sharing } = await rrsaSharing(goodToken());
    if (outage === 'refused') await sts.refuseConnections();
    else sts.setOutage(outage);
    try {
      const err = await failure(sharing.observe(ref));
      expect([err.code, err.kind, err.reason]).toEqual(['StsUnavailable', 'transient', Reason.CloudUnreachable]);
    } finally {
      if (outage === 'refused') await sts.resume();
      sts.setOutage(undefined);
    }
    await expect(sharing.observe(ref)).resolves.toBeDefined();
  });

  it('re-reads the token file for every new session (the kubelet rotates it)', async () => {
    const { sharing, tokenFile } = await rrsaSharing(signJwt(claims({ exp: nowS() - 1 }), pem(issuerKey), KID));
    await failure(sharing.observe(ref));
    await writeFile(tokenFile, goodToken());
    await expect(sharing.observe(ref)).resolves.toBeDefined();
    expect(
      sts
        .oidcAnswers()
        .slice(-2)
        .map((a) => a.code),
    ).toEqual(['AuthenticationFail.OIDCToken.Expired', 'OK']);
  });
});
