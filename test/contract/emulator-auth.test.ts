// Authentication through the real SDK: ACS3 signatures (and the legacy RPC form), key state, STS tokens, the date
// window, nonce replay (a captured SDK request replayed byte for byte), RAM allow-lists, Version/Action checks.
import { createServer, type IncomingHttpHeaders, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenApi from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SeedInput } from '../emulator/seed.ts';
import { useEmulator } from './use-emulator.ts';
import {
  baseSeed,
  client,
  disp,
  Ecs,
  IMAGE,
  KEY,
  misp,
  OWNER,
  REGION,
  rcp,
  STS_KEY,
  sdkError,
} from './emulator-fixtures.ts';

const em = useEmulator(baseSeed);

type Keys = NonNullable<NonNullable<SeedInput['owners']>[number]['keys']>;

function seedWithKeys(keys: Keys): SeedInput {
  return baseSeed({ owner: { keys } });
}

describe('ACS3-HMAC-SHA256', () => {
  it('accepts the SDK default signature for every action', async () => {
    const c = client(em());
    await expect(misp(c, { addAccount: [rcp(0)] })).resolves.toMatchObject({ statusCode: 200 });
    await expect(disp(c)).resolves.toMatchObject({ statusCode: 200 });
    await expect(c.describeImages(new Ecs.DescribeImagesRequest({ regionId: REGION }))).resolves.toMatchObject({
      statusCode: 200,
    });
  });

  it.each([
    ['a wrong secret fails the signature', { accessKeySecret: 'not-the-secret' }, 'SignatureDoesNotMatch', 400],
    ['an unknown key ID is not found', { accessKeyId: 'LTAItestNobody000001' }, 'InvalidAccessKeyId.NotFound', 404],
  ])('%s', async (_why, opts, code, status) => {
    const e = await sdkError(disp(client(em(), opts)));
    expect([e.name, e.code, e.statusCode]).toEqual(['ClientError', code, status]);
  });

  it('rejects a disabled key with InvalidAccessKeyId.Inactive', async () => {
    await em().admin.reset(seedWithKeys([{ ...KEY, disabled: true }]));
    const e = await sdkError(disp(client(em())));
    expect([e.code, e.statusCode]).toEqual(['InvalidAccessKeyId.Inactive', 400]);
  });

  it('rejects a date outside the skew window (emulator clock moved an hour ahead) and accepts one within it', async () => {
    await em().admin.setOptions({ clockOffsetMs: 3_600_000 });
    const e = await sdkError(disp(client(em())));
    expect([e.code, e.statusCode]).toEqual(['InvalidTimeStamp.Expired', 400]);
    await em().admin.setOptions({ clockOffsetMs: 60_000 });
    await expect(disp(client(em()))).resolves.toMatchObject({ statusCode: 200 });
  });

  it("answers Forbidden.RAM with an AccessDeniedDetail for an action outside the key's allowedActions", async () => {
    await em().admin.reset(seedWithKeys([{ ...KEY, allowedActions: ['DescribeImageSharePermission'] }]));
    await expect(disp(client(em()))).resolves.toMatchObject({ statusCode: 200 });
    const e = await sdkError(misp(client(em()), { addAccount: [rcp(0)] }));
    expect([e.code, e.statusCode]).toEqual(['Forbidden.RAM', 403]);
    expect(e.accessDeniedDetail).toMatchObject({
      AuthAction: 'ecs:ModifyImageSharePermission',
      AuthPrincipalOwnerId: OWNER,
    });
  });
});

describe('STS', () => {
  it('accepts the right security token', async () => {
    const r = await disp(client(em(), STS_KEY));
    expect(r.statusCode).toBe(200);
  });

  it.each([
    ['a wrong token', { ...STS_KEY, securityToken: 'not-the-token' }],
    ['no token at all', { accessKeyId: STS_KEY.accessKeyId, accessKeySecret: STS_KEY.accessKeySecret }],
  ])('rejects %s with InvalidSecurityToken.Malformed', async (_why, opts) => {
    const e = await sdkError(disp(client(em(), opts)));
    expect([e.code, e.statusCode]).toEqual(['InvalidSecurityToken.Malformed', 403]);
  });

  it('rejects an expired STS credential with InvalidSecurityToken.Expired', async () => {
    await em().admin.reset(seedWithKeys([{ ...STS_KEY, expired: true }]));
    const e = await sdkError(disp(client(em(), STS_KEY)));
    expect([e.code, e.statusCode]).toEqual(['InvalidSecurityToken.Expired', 403]);
  });
  it('a session key added with expiresAt works until then, and is InvalidSecurityToken.Expired after (as STS does)', async () => {
    // The STS stand-in adds each session it issues this way (test/emulator/sts-https.ts).
    const session = { accessKeyId: 'STS.testsession99', accessKeySecret: 's-secret', securityToken: 's-token' };
    await em().admin.addKey(OWNER, { ...session, expiresAt: new Date(Date.now() + 1_500).toISOString() });
    expect((await disp(client(em(), session))).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 1_600));
    const e = await sdkError(disp(client(em(), session)));
    expect([e.code, e.statusCode]).toEqual(['InvalidSecurityToken.Expired', 403]);
  });
});

describe('legacy HMAC-SHA1 RPC signature (signatureAlgorithm v2)', () => {
  it('accepts the right secret and rejects a wrong one', async () => {
    await expect(misp(client(em(), { signatureAlgorithm: 'v2' }), { addAccount: [rcp(0)] })).resolves.toMatchObject({
      statusCode: 200,
    });
    expect((await em().admin.image(REGION, IMAGE)).sharedWith.map((s) => s.id)).toEqual([rcp(0)]);
    const e = await sdkError(disp(client(em(), { signatureAlgorithm: 'v2', accessKeySecret: 'wrong' })));
    expect([e.code, e.statusCode]).toEqual(['SignatureDoesNotMatch', 400]);
  });
});

describe("protocol checks through the SDK's generic callApi", () => {
  function call(action: string, version: string, body?: Record<string, string>, query?: Record<string, string>) {
    const c = client(em());
    const params = new OpenApi.$OpenApiUtil.Params({
      action,
      version,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const req = new OpenApi.$OpenApiUtil.OpenApiRequest({ ...(body ? { body } : {}), ...(query ? { query } : {}) });
    return c.callApi(params, req, new $dara.RuntimeOptions({}));
  }

  it('rejects an unknown action (404) and a wrong version (400)', async () => {
    const a = await sdkError(call('DescribeRegions', '2014-05-26'));
    expect([a.code, a.statusCode]).toEqual(['InvalidAction.NotFound', 404]);
    const v = await sdkError(call('DescribeImages', '2016-01-01', undefined, { RegionId: REGION }));
    expect([v.code, v.statusCode]).toEqual(['InvalidVersion', 400]);
  });

  it('accepts parameters in a signed form body', async () => {
    const r = await call('DescribeImageSharePermission', '2014-05-26', { RegionId: REGION, ImageId: IMAGE });
    expect(r.statusCode).toBe(200);
    expect((r.body as { ImageId?: string }).ImageId).toBe(IMAGE);
  });
});

describe('nonce replay', () => {
  interface Captured {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
  }
  let capture: Server;
  const captured: Captured[] = [];

  beforeAll(async () => {
    // Stands in for ECS just long enough to record what the real SDK sends.
    capture = createServer((req, res) => {
      captured.push({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"RequestId":"CAPTURED"}');
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    capture.closeAllConnections();
    await new Promise<void>((resolve) => capture.close(() => resolve()));
  });

  function replay(c: Captured, tamper?: (url: string) => string): Promise<{ status: number; body: { Code?: string } }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: em().port,
          method: c.method,
          path: tamper ? tamper(c.url) : c.url,
          headers: c.headers,
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { Code?: string } }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('accepts a captured SDK request once, then answers SignatureNonceUsed; a tampered query fails the signature', async () => {
    const port = (capture.address() as AddressInfo).port;
    const fake = { ...em(), endpoint: `127.0.0.1:${port}` };
    await disp(client(fake));
    const [req] = captured;
    if (!req) throw new Error('the SDK request was not captured');
    expect(req.headers.authorization).toMatch(/^ACS3-HMAC-SHA256 Credential=LTAItest/);

    const tampered = await replay(req, (u) => u.replace(`ImageId=${IMAGE}`, 'ImageId=m-other'));
    expect([tampered.status, tampered.body.Code]).toEqual([400, 'SignatureDoesNotMatch']);
    const first = await replay(req);
    expect(first.status).toBe(200);
    const second = await replay(req);
    expect([second.status, second.body.Code]).toEqual([400, 'SignatureNonceUsed']);
  });
});
