// `imageshare-operator plan` through the real SDK against the emulator: it prints exactly what Apply would write,
// and never writes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runCli } from '../../src/cli/commands.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import type { ImageSharingFactory } from '../../src/cloud/port.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';

const OWNER = '1000000000000001';
const KEY = { accessKeyId: 'LTAItestCliPlan001', accessKeySecret: 'test-only-cli-plan-secret' };
const A = ['2000000000000001', '2000000000000002', '2000000000000003'];

let emu: Emulator;
let cloud: ImageSharingFactory;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      owners: [{ id: OWNER, site: 'international', keys: [KEY] }],
      accounts: A.map((id) => ({ id, site: 'international' as const })),
      regions: [{ id: 'cn-hangzhou', community: true }],
      images: [
        { id: 'm-clipla00001', region: 'cn-hangzhou', owner: OWNER, name: 'golden', sharedWith: [A[2] ?? ''] },
        { id: 'm-clipla00002', region: 'cn-hangzhou', owner: OWNER, name: 'cmk', encryption: 'cmk' },
      ],
    },
  });
  const real = createEcsImageSharingFactory({
    endpoint: emu.endpoint,
    protocol: 'http',
    timeoutMs: 3000,
    qps: 100,
    burst: 100,
  });
  cloud = { forCredentials: () => real.forCredentials({ type: 'static', ...KEY }) };
  dir = mkdtempSync(join(tmpdir(), 'imageshare-cli-'));
});
afterAll(async () => {
  await emu?.close();
});

const manifest = (name: string, spec: Record<string, unknown>) =>
  stringify({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: 'team' },
    spec: { regionId: 'cn-hangzhou', ...spec },
  });

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    cloud,
  });
  return { code, out, err };
}

describe('imageshare-operator plan', () => {
  it('prints the ordered writes Apply would make, and writes nothing', async () => {
    const file = join(dir, 'shares.yaml');
    writeFileSync(
      file,
      `${manifest('golden', { imageId: 'm-clipla00001', accounts: [A[0], A[1]] })}---\n${manifest('cmk', { imageId: 'm-clipla00002', accounts: [], community: true })}`,
    );
    await emu.admin.clearCalls();
    const r = await run(['plan', '-f', file, '--output', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as Array<Record<string, unknown>>;
    expect(out[0]).toMatchObject({ object: 'team/golden', shared: 1, plan: { grant: [A[0], A[1]], revoke: [A[2]] } });
    expect(out[0]?.operations).toEqual([
      { kind: 'revoke', accounts: [A[2]] },
      { kind: 'grant', accounts: [A[0], A[1]] },
    ]);
    expect(out[1]).toMatchObject({
      object: 'team/cmk',
      plan: { grant: [], revoke: [] },
      blockers: [{ reason: 'EncryptedImageNotPublishable' }],
    });
    const calls = (await emu.admin.calls()).counts.byAction;
    expect(calls.ModifyImageSharePermission).toBeUndefined();
    expect(calls.DescribeImageSharePermission).toBe(2);
  });

  it('text output names each object and its operations', async () => {
    const file = join(dir, 'one.yaml');
    writeFileSync(file, manifest('golden', { imageId: 'm-clipla00001', accounts: [A[2]] }));
    const r = await run(['plan', '-f', file]);
    expect(r).toMatchObject({ code: 0, out: 'team/golden: shared with 1 account(s); Apply would change nothing\n' });
  });

  it('a cloud error is reported with its reason and exits 1', async () => {
    const file = join(dir, 'missing.yaml');
    writeFileSync(file, manifest('missing', { imageId: 'm-doesnotexist1', accounts: [A[0]] }));
    const r = await run(['plan', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('team/missing: cannot plan: ImageNotFound');
  });

  it('an invalid manifest is reported and nothing is read from the cloud', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, manifest('bad', { imageId: 'm-clipla00001', accounts: ['007'] }));
    await emu.admin.clearCalls();
    const r = await run(['plan', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('spec.accounts[0]');
    expect((await emu.admin.calls()).calls).toEqual([]);
  });

  it('usage errors exit 2 with the usage text', async () => {
    const r = await run(['plan']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('give at least one -f');
    expect((await run(['validate', '--bogus'])).code).toBe(2);
  });

  it('--detailed-exitcode: 0 when nothing would change, 2 when something would, 1 on a cloud error', async () => {
    // Terraform's convention, so a CI job can tell "in sync" from "this PR changes sharing" from "broken".
    const same = join(dir, 'same.yaml');
    writeFileSync(same, manifest('golden', { imageId: 'm-clipla00001', accounts: [A[2]] }));
    const changes = join(dir, 'changes.yaml');
    writeFileSync(changes, manifest('golden', { imageId: 'm-clipla00001', accounts: [A[0], A[2]] }));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, manifest('missing', { imageId: 'm-doesnotexist1', accounts: [A[0]] }));
    expect((await run(['plan', '-f', same, '--detailed-exitcode'])).code).toBe(0);
    expect((await run(['plan', '-f', changes, '--detailed-exitcode'])).code).toBe(2);
    expect((await run(['plan', '-f', changes])).code).toBe(0);
    expect((await run(['plan', '-f', changes, '-f', broken, '--detailed-exitcode'])).code).toBe(1);
  });

  it('names, offline, the pre-existing shares an Authoritative object would revoke (adoption)', async () => {
    // A3 was shared by hand before this object existed; Apply would revoke it, which a reviewer must see.
    const file = join(dir, 'adopt.yaml');
    writeFileSync(file, manifest('golden', { imageId: 'm-clipla00001', accounts: [A[0]] }));
    const r = await run(['plan', '-f', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `    adopting: will revoke ${A[2]}, shared outside Git (or granted by this object earlier: pass --kubeconfig to tell)\n`,
    );
    const additive = join(dir, 'adopt-additive.yaml');
    writeFileSync(
      additive,
      manifest('golden', { imageId: 'm-clipla00001', accounts: [A[0]], sharePolicy: 'Additive' }),
    );
    const a = await run(['plan', '-f', additive, '--output', 'json']);
    expect(JSON.parse(a.out)).toMatchObject([{ plan: { grant: [A[0]], revoke: [] }, adopting: [] }]);
  });
});
