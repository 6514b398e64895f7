// spec.credentials.roleArn end to end (issue 18 item 6, the roleArn half): the operator process assumes the role at an
// STS stand-in served over HTTPS with a test CA it trusts only through NODE_EXTRA_CA_CERTS (test/emulator/sts-https.ts,
// in front of the emulator's AssumeRole), then shares with the session credentials STS issued; a role STS refuses is
// terminal, and STS throttling, a 503 or refused connections are transient.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { type StsFront, startStsFront } from '../emulator/sts-https.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { account, OWNER, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

/** The session key STS hands out for roles of OWNER's account (an STS key: it has a security token). */
const SESSION_KEY = {
  accessKeyId: 'STS.testsession01',
  accessKeySecret: 'itest-session-secret-0001',
  securityToken: 'itest-session-token-0001',
};
const ROLE = `acs:ram::${OWNER}:role/image-sharer`;
/** An account with no role STS will hand out: AssumeRole answers EntityNotExist.Role. */
const NO_ROLE = 'acs:ram::1000000000000002:role/image-sharer';
const IMAGES = {
  shared: 'm-stsrole00001',
  refused: 'm-stsrole00002',
  throttled: 'm-stsrole00003',
  outage: 'm-stsrole00004',
};

let emu: Emulator;
let sts: StsFront;
let op: OperatorProcess;
let ns: string;
let dir: string;

const apply = (name: string, imageId: string, roleArn: string) =>
  applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: REGION, imageId, accounts: [account(1)], credentials: { roleArn } },
  });
const waitCondition = (name: string, type: string) =>
  eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, name);
      const c = o.status?.conditions?.find((x) => x.type === type && x.status === 'True');
      if (o.status?.observedGeneration !== o.metadata.generation || c === undefined)
        throw new Error(JSON.stringify(o.status?.conditions));
      return o;
    },
    { timeoutMs: 45_000 },
  );
const callsFor = async (imageId: string) => (await emu.admin.calls()).calls.filter((c) => c.imageId === imageId);

beforeAll(async () => {
  ns = await createNamespace('sts-roles');
  dir = await mkdtemp(join(tmpdir(), 'sts-front-'));
  const seed = operatorWorld(Object.values(IMAGES));
  seed.owners?.[0]?.keys?.push(SESSION_KEY);
  emu = await startEmulator({ seed });
  // Sessions that enter the refresh window (15 minutes before expiry, src/cloud/assume-role.ts) 3 s after issue.
  sts = await startStsFront(emu.port, dir, { sessionLifetimeMs: 15 * 60_000 + 3_000 });
  const inherited = process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = sts.caPath;
  try {
    op = await startOperator({
      kubeconfig: testState().kubeconfigPath,
      ecsEndpoint: emu.endpoint,
      ...OWNER_KEY,
      namespaces: [ns],
      extraArgs: ['--sts-endpoint', sts.endpoint, '--sts-protocol', 'https'],
    });
  } finally {
    if (inherited === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = inherited;
  }
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await sts?.close();
  await emu?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('roleArn through an HTTPS STS', () => {
  it("shares through the assumed role: STS was reached over TLS, and ECS saw the session's key", async () => {
    await apply('shared', IMAGES.shared, ROLE);
    await waitCondition('shared', 'Ready');
    expect(sts.requests()).toContain('AssumeRole');
    const calls = await callsFor(IMAGES.shared);
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((c) => c.accessKeyId))).toEqual(new Set([SESSION_KEY.accessKeyId]));
    // The AssumeRole itself was signed by the operator's own identity.
    const assume = (await emu.admin.calls()).calls.filter((c) => c.action === 'AssumeRole');
    expect(assume.map((c) => c.accessKeyId)).toContain(OWNER_KEY.accessKeyId);
    expect((await emu.admin.image(REGION, IMAGES.shared)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
  });

  it('a session about to expire is refreshed before the next pass uses it, and that pass does not fail', async () => {
    const before = sts.requests().filter((a) => a === 'AssumeRole').length;
    await new Promise((r) => setTimeout(r, 4_000));
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name: 'shared', namespace: ns },
      spec: {
        regionId: REGION,
        imageId: IMAGES.shared,
        accounts: [account(1), account(2)],
        credentials: { roleArn: ROLE },
      },
    });
    await waitCondition('shared', 'Ready');
    expect(sts.requests().filter((a) => a === 'AssumeRole').length).toBeGreaterThan(before);
    expect((await emu.admin.image(REGION, IMAGES.shared)).sharedWith.map((a) => a.id).sort()).toEqual([
      account(1),
      account(2),
    ]);
    // Every pass of this object succeeded: none ended in an error or a non-Synced reason.
    const passes = op.logs().filter((l) => l.key === `${ns}/shared` && l.msg === 'reconciled');
    expect(passes.filter((l) => l.result !== 'success')).toEqual([]);
  });

  it('a role STS refuses is terminal (Stalled), and nothing is written to ECS', async () => {
    const o = await (async () => {
      await apply('refused', IMAGES.refused, NO_ROLE);
      return waitCondition('refused', 'Stalled');
    })();
    const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('False');
    // The status names the role STS refused and its code, so the reader knows what to fix.
    expect(ready).toMatchObject({
      reason: 'InvalidCredentials',
      message: expect.stringContaining(`assume role ${NO_ROLE}`),
    });
    expect((await callsFor(IMAGES.refused)).filter((c) => c.action === 'ModifyImageSharePermission')).toEqual([]);
  });

  it('STS throttling is transient (Reconciling), and the share follows once STS answers again', async () => {
    await emu.admin.addFault({ action: 'AssumeRole', type: 'error', code: 'Throttling', httpStatus: 400 });
    // A role not assumed before, so its session is not cached.
    await apply('throttled', IMAGES.throttled, `acs:ram::${OWNER}:role/another-sharer`);
    await waitCondition('throttled', 'Reconciling');
    await emu.admin.clearFaults();
    await waitCondition('throttled', 'Ready');
    expect((await emu.admin.image(REGION, IMAGES.throttled)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
  });

  it('STS answering 503, then refusing connections, is transient (Reconciling); the share follows once STS is back', async () => {
    sts.setOutage('unavailable');
    try {
      // A role not assumed before, so no cached session hides the outage.
      await apply('outage', IMAGES.outage, `acs:ram::${OWNER}:role/outage-sharer`);
      await waitCondition('outage', 'Reconciling');
      await sts.refuseConnections();
      await new Promise((r) => setTimeout(r, 3_000));
      const o = await waitCondition('outage', 'Reconciling');
      expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('CloudUnreachable');
      expect(o.status?.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
    } finally {
      sts.setOutage(undefined);
      await sts.resume();
    }
    await waitCondition('outage', 'Ready');
    expect((await emu.admin.image(REGION, IMAGES.outage)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
  });
});
