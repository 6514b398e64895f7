// RRSA end to end (issue 18 item 6, docs/adr/0034): the chart's rrsa values, rendered with `helm template`, give the
// operator process its environment (the three ALIBABA_CLOUD_* variables) and the projected token's audience, lifetime
// and path; the token is a real ServiceAccount token from the test apiserver (TokenRequest, as the kubelet does), and
// the STS stand-in (HTTPS, test CA via NODE_EXTRA_CA_CERTS) trusts the apiserver's issuer through its JWKS, as RAM
// trusts an ACK cluster's OIDC provider. Sessions STS issues are keys of the role's account that the ECS emulator
// refuses once they expire.
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { type StsFront, startStsFront } from '../emulator/sts-https.ts';
import { readJwt, signJwt } from '../emulator/sts-oidc.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { only, renderChart } from '../harness/helm.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { account, OWNER, operatorWorld, REGION } from './operator-world.ts';

const PROVIDER = `acs:ram::${OWNER}:oidc-provider/ack-rrsa-test`;
const ROLE = `acs:ram::${OWNER}:role/imageshare-operator`;
/** A role of the same account whose trust policy names another cluster's OIDC provider. */
const UNTRUSTING_ROLE = `acs:ram::${OWNER}:role/trusts-another-cluster`;
const SA = 'imageshare-operator';
const IMAGES = {
  shared: 'm-rrsa00000001',
  forged: 'm-rrsa00000002',
  untrusted: 'm-rrsa00000003',
  outage: 'm-rrsa00000004',
};
/** Sessions state 15 min + 3 s (the operator refreshes 15 min early, so after 3 s); the emulator takes them 5 s. */
const STATED_MS = 15 * 60_000 + 3_000;
const VALID_MS = 5_000;

interface RrsaWiring {
  env: Record<string, string>;
  mountPath: string;
  token: { audience: string; expirationSeconds: number; path: string };
}

let emu: Emulator;
let sts: StsFront;
let dir: string;
const operators: OperatorProcess[] = [];
const tokens: string[] = [];

/** What the chart gives the operator container with credentials.rrsa enabled for `roleArn`. */
async function chartWiring(roleArn: string): Promise<RrsaWiring> {
  const manifests = await renderChart({
    set: {
      'credentials.rrsa.enabled': 'true',
      'credentials.rrsa.roleArn': roleArn,
      'credentials.rrsa.oidcProviderArn': PROVIDER,
    },
  });
  const pod = (only(manifests, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template
    .spec;
  const container = pod.containers[0];
  const env = Object.fromEntries(
    (container?.env ?? []).filter((e) => e.name.startsWith('ALIBABA_CLOUD_')).map((e) => [e.name, e.value ?? '']),
  );
  const mount = container?.volumeMounts?.find((m) => m.name === 'rrsa-oidc-token');
  const source = pod.volumes.find((v) => v.name === 'rrsa-oidc-token')?.projected?.sources[0]?.serviceAccountToken;
  if (mount === undefined || source === undefined) throw new Error('the chart rendered no RRSA token volume');
  return { env, mountPath: mount.mountPath, token: source };
}

interface PodSpec {
  containers: Array<{
    env?: Array<{ name: string; value?: string }>;
    volumeMounts?: Array<{ name: string; mountPath: string }>;
  }>;
  volumes: Array<{
    name: string;
    projected?: {
      sources: Array<{ serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }>;
    };
  }>;
}

/** A ServiceAccount token as the kubelet projects it: TokenRequest with the volume's audience and lifetime. */
async function projectedToken(ns: string, wiring: RrsaWiring): Promise<string> {
  const { stdout } = await kubectl([
    'create',
    'token',
    SA,
    '-n',
    ns,
    '--audience',
    wiring.token.audience,
    '--duration',
    `${wiring.token.expirationSeconds}s`,
  ]);
  return stdout.trim();
}

/**
 * Runs the operator with the chart's RRSA environment, the token file where the volume puts it (under a temp dir
 * standing for the pod's file system), and --sts-endpoint at the stand-in, watching `ns`.
 */
async function startRrsaOperator(ns: string, wiring: RrsaWiring, token: string): Promise<OperatorProcess> {
  tokens.push(token);
  const tokenPath = `${wiring.mountPath}/${wiring.token.path}`;
  expect(wiring.env.ALIBABA_CLOUD_OIDC_TOKEN_FILE).toBe(tokenPath);
  const root = await mkdtemp(join(dir, 'pod-'));
  const file = join(root, tokenPath);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, token);
  const op = await startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    namespaces: [ns],
    extraArgs: ['--sts-endpoint', sts.endpoint, '--sts-protocol', 'https'],
    env: { ...wiring.env, ALIBABA_CLOUD_OIDC_TOKEN_FILE: file, NODE_EXTRA_CA_CERTS: sts.caPath },
  });
  operators.push(op);
  return op;
}

async function namespaceWithServiceAccount(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix);
  await kubectl(['create', 'serviceaccount', SA, '-n', ns]);
  return ns;
}

const share = (ns: string, name: string, imageId: string, accounts = [account(1)]) =>
  applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: REGION, imageId, accounts },
  });
const condition = (ns: string, name: string, type: string, timeoutMs = 45_000) =>
  eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, name);
      const c = o.status?.conditions?.find((x) => x.type === type && x.status === 'True');
      if (o.status?.observedGeneration !== o.metadata.generation || c === undefined)
        throw new Error(JSON.stringify(o.status?.conditions));
      return o;
    },
    { timeoutMs },
  );
const callsFor = async (imageId: string) => (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId);
const grantedKeys = () =>
  new Set(sts.oidcAnswers().flatMap((a) => (a.accessKeyId === undefined ? [] : [a.accessKeyId])));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rrsa-'));
  // The seed's own keys are never handed to the operator: its only identity is the RRSA session.
  emu = await startEmulator({ seed: operatorWorld(Object.values(IMAGES)) });
  const discovery = JSON.parse((await kubectl(['get', '--raw', '/.well-known/openid-configuration'])).stdout) as {
    issuer: string;
  };
  const jwks = JSON.parse((await kubectl(['get', '--raw', '/openid/v1/jwks'])).stdout) as { keys: JsonWebKey[] };
  sts = await startStsFront(emu.port, dir, {
    oidc: {
      admin: emu.admin,
      providers: [{ arn: PROVIDER, issuer: discovery.issuer, audiences: ['sts.aliyuncs.com'], jwks }],
      roles: [
        { arn: ROLE, account: OWNER, trustedProviders: [PROVIDER] },
        { arn: UNTRUSTING_ROLE, account: OWNER, trustedProviders: [`acs:ram::${OWNER}:oidc-provider/another`] },
      ],
      sessionLifetimeMs: STATED_MS,
      sessionValidMs: VALID_MS,
    },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(operators.map((op) => op.stop()));
  await sts?.close();
  await emu?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("RRSA: the operator's own identity from the chart's rrsa values", () => {
  let ns: string;
  let op: OperatorProcess;

  beforeAll(async () => {
    ns = await namespaceWithServiceAccount('rrsa');
    const wiring = await chartWiring(ROLE);
    op = await startRrsaOperator(ns, wiring, await projectedToken(ns, wiring));
  }, 60_000);

  it("an ImageShare with default credentials shares as the role's account, through AssumeRoleWithOIDC", async () => {
    await share(ns, 'shared', IMAGES.shared);
    await condition(ns, 'shared', 'Ready');
    expect(sts.requests()).toContain('AssumeRoleWithOIDC');
    expect(sts.oidcAnswers().map((a) => [a.code, a.roleArn])).toContainEqual(['OK', ROLE]);
    const calls = await callsFor(IMAGES.shared);
    expect(calls.length).toBeGreaterThan(0);
    // Every ECS call was signed by a session STS issued for the role, and those keys are the role's account's.
    const keys = grantedKeys();
    expect(calls.filter((c) => !keys.has(c.accessKeyId ?? ''))).toEqual([]);
    const owner = (await emu.admin.state()).owners.find((o) => o.id === OWNER);
    for (const c of calls) expect(owner?.keys.map((k) => k.accessKeyId)).toContain(c.accessKeyId);
    expect((await emu.admin.image(REGION, IMAGES.shared)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
  });

  it('a session past its expiry is replaced before a pass uses it: no pass fails, ECS never saw an expired key', async () => {
    const before = grantedKeys().size;
    await new Promise((r) => setTimeout(r, VALID_MS + 1_000));
    await share(ns, 'shared', IMAGES.shared, [account(1), account(2)]);
    await condition(ns, 'shared', 'Ready');
    expect(grantedKeys().size).toBeGreaterThan(before);
    expect((await emu.admin.image(REGION, IMAGES.shared)).sharedWith.map((a) => a.id).sort()).toEqual([
      account(1),
      account(2),
    ]);
    expect((await callsFor(IMAGES.shared)).filter((c) => c.code !== 'OK')).toEqual([]);
    const passes = op.logs().filter((l) => l.key === `${ns}/shared` && l.msg === 'reconciled');
    expect(passes.length).toBeGreaterThan(0);
    expect(passes.filter((l) => l.result !== 'success')).toEqual([]);
    expect(op.logs().filter((l) => l.key === `${ns}/shared` && l.result === 'error')).toEqual([]);
  });
});

describe('a refused identity is terminal; an STS outage is transient', () => {
  // Each row: why STS refuses, and how (a token or a role); all are Stalled with the role and STS's code named, and
  // nothing reaches ECS.
  const refusals: [string, string, string, string, (ns: string, w: RrsaWiring) => Promise<string>][] = [
    [
      'a token signed by a key the issuer does not publish is forged',
      'forged',
      ROLE,
      'AuthenticationFail.OIDCToken.InvalidSignature',
      async (ns, w) => {
        const real = readJwt(await projectedToken(ns, w));
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return signJwt(
          real.claims,
          privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          String(real.header.kid),
        );
      },
    ],
    [
      "the role's trust policy names another cluster's OIDC provider",
      'untrusted',
      UNTRUSTING_ROLE,
      'AuthenticationFail.NoPermission',
      projectedToken,
    ],
  ];
  it.each(refusals)('%s → Stalled, naming the role and the STS code', async (_why, name, role, code, token) => {
    const ns = await namespaceWithServiceAccount(`rrsa-${name}`);
    const wiring = await chartWiring(role);
    const op = await startRrsaOperator(ns, wiring, await token(ns, wiring));
    const imageId = IMAGES[name as keyof typeof IMAGES];
    await share(ns, name, imageId);
    const o = await condition(ns, name, 'Stalled');
    expect(o.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidCredentials',
      message: expect.stringContaining(`RRSA identity, role ${role} (${code})`),
    });
    expect(await callsFor(imageId)).toEqual([]);
    await op.stop();
  });

  it('STS throttling, a 503 and refused connections keep the object Reconciling; it shares once STS is back', async () => {
    const ns = await namespaceWithServiceAccount('rrsa-outage');
    const wiring = await chartWiring(ROLE);
    sts.setOutage('throttled');
    try {
      await startRrsaOperator(ns, wiring, await projectedToken(ns, wiring));
      await share(ns, 'outage', IMAGES.outage);
      await condition(ns, 'outage', 'Reconciling');
      for (const phase of ['unavailable', 'refused'] as const) {
        const seen = sts.requests().length;
        if (phase === 'refused') await sts.refuseConnections();
        else sts.setOutage(phase);
        // The operator keeps trying (STS saw it, or for refused connections it could not), and never stalls.
        if (phase !== 'refused') await eventually(async () => expect(sts.requests().length).toBeGreaterThan(seen));
        else await new Promise((r) => setTimeout(r, 3_000));
        const o = await condition(ns, 'outage', 'Reconciling');
        expect(o.status?.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
        expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('CloudUnreachable');
      }
    } finally {
      sts.setOutage(undefined);
      await sts.resume();
    }
    await condition(ns, 'outage', 'Ready', 90_000);
    expect((await emu.admin.image(REGION, IMAGES.outage)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
  });
});

describe('the OIDC token is a credential', () => {
  it('appears in no log line, event, status or metric', async () => {
    expect(tokens.length).toBeGreaterThan(0);
    const events = (await kubectl(['get', 'events', '-A', '-o', 'json'])).stdout;
    const statuses = (await kubectl(['get', 'imageshares', '-A', '-o', 'json'])).stdout;
    const texts = [events, statuses];
    for (const op of operators) {
      texts.push(await readFile(op.logPath, 'utf8'));
      texts.push(await op.metrics().catch(() => ''));
    }
    for (const token of tokens) {
      const signature = token.split('.')[2] ?? token;
      for (const text of texts) expect(text).not.toContain(signature);
    }
  });
});
