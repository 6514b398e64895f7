// `imageshare-operator plan --kubeconfig` against the real kube-apiserver and the ECS emulator, run as the CLI
// process a CI job runs: the live object's status.managedAccounts decides which revokes are adoption (shares made
// outside Git) and makes Additive revokes visible; a secretRef Secret is used where the kubeconfig may read it, and
// where it may not, the plan says so and falls back to the default identity.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { addTestUser, testKubeconfig } from '../harness/env.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';
import { runProcess } from '../harness/run-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OWNER = '1000000000000001';
const OTHER_OWNER = '1000000000000002';
const KEY = { accessKeyId: 'LTAItestPlanLive01', accessKeySecret: 'test-only-plan-live-secret' };
const SECRET_KEY = { accessKeyId: 'LTAItestPlanLive02', accessKeySecret: 'test-only-plan-live-secret-2' };
const A = ['2000000000000001', '2000000000000002', '2000000000000003'] as const;

let emu: Emulator;
let ns: string;
let dir: string;

const share = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name, namespace: ns },
  spec: { regionId: 'cn-hangzhou', ...spec },
});

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      owners: [
        { id: OWNER, site: 'international', keys: [KEY] },
        { id: OTHER_OWNER, site: 'international', keys: [SECRET_KEY] },
      ],
      accounts: A.map((id) => ({ id, site: 'international' as const })),
      regions: [{ id: 'cn-hangzhou', community: true }],
      images: [
        // A1 was granted by the live object (its status says so); A3 was shared by hand before Git managed it.
        { id: 'm-planlive0001', region: 'cn-hangzhou', owner: OWNER, name: 'golden', sharedWith: [A[0], A[2]] },
        { id: 'm-planlive0002', region: 'cn-hangzhou', owner: OWNER, name: 'team', sharedWith: [A[0], A[1]] },
        { id: 'm-planlive0003', region: 'cn-hangzhou', owner: OTHER_OWNER, name: 'partner' },
      ],
    },
  });
  ns = await createNamespace('plan-live');
  dir = await mkdtemp(join(tmpdir(), 'imageshare-plan-live-'));
  // The live objects, as the controller left them: golden granted A1; team (Additive) granted A2.
  await applyYaml(share('golden', { imageId: 'm-planlive0001', accounts: [A[0]] }));
  await applyYaml(share('team', { imageId: 'm-planlive0002', accounts: [A[1]], sharePolicy: 'Additive' }));
  await applyYaml(
    share('partner', {
      imageId: 'm-planlive0003',
      accounts: [A[0]],
      credentials: { secretRef: { name: 'partner-key' } },
    }),
  );
  await applyYaml({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'partner-key', namespace: ns },
    stringData: SECRET_KEY,
  });
  for (const [name, managed] of [
    ['golden', [A[0]]],
    ['team', [A[1]]],
  ] as const) {
    await kubectl([
      'patch',
      'imageshare',
      name,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { managedAccounts: managed } }),
    ]);
  }
});
afterAll(async () => {
  await emu?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The pull request's manifests: golden now wants only A2; team drops A2 (Additive); partner unchanged. */
async function manifests(): Promise<string> {
  const file = join(dir, 'images.yaml');
  await writeFile(
    file,
    [
      share('golden', { imageId: 'm-planlive0001', accounts: [A[1]] }),
      share('team', { imageId: 'm-planlive0002', accounts: [], sharePolicy: 'Additive' }),
      share('partner', {
        imageId: 'm-planlive0003',
        accounts: [A[0]],
        credentials: { secretRef: { name: 'partner-key' } },
      }),
    ]
      .map((d) => stringify(d))
      .join('---\n'),
  );
  return file;
}

/** `imageshare-operator plan …` as a process, with the operator identity (KEY) and the emulator as ECS. */
function plan(args: readonly string[]) {
  return runProcess(process.execPath, [join(ROOT, 'src/main.ts'), 'plan', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
      IMAGESHARE_ECS_ENDPOINT: emu.endpoint,
      IMAGESHARE_ECS_PROTOCOL: 'http',
    },
    timeoutMs: 60_000,
  });
}

type Row = Record<string, unknown>;
const byObject = (out: string): Map<string, Row> =>
  new Map((JSON.parse(out) as Row[]).map((r) => [String(r.object).split('/')[1] ?? '', r]));

describe('plan --kubeconfig (real apiserver)', () => {
  it('separates shares this object granted from pre-existing ones, and shows Additive revokes', async () => {
    const r = await plan(['-f', await manifests(), '--kubeconfig', testKubeconfig(), '--output', 'json']);
    expect(r.stderr).toBe('');
    const rows = byObject(r.stdout);
    // golden: A1 it granted and A3 shared by hand both go; only A3 is adoption.
    expect(rows.get('golden')).toMatchObject({
      live: 'found',
      plan: { grant: [A[1]], revoke: [A[0], A[2]] },
      adopting: [A[2]],
      managedAccounts: [A[0]],
    });
    // team (Additive): the revoke of A2, which it granted, is known only from the live status.
    expect(rows.get('team')).toMatchObject({ plan: { grant: [], revoke: [A[1]] }, adopting: [] });
    // partner: planned with the Secret's key (another owner), which the default identity could not even see.
    expect(rows.get('partner')).toMatchObject({
      identity: `Secret ${ns}/partner-key`,
      plan: { grant: [A[0]], revoke: [] },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(SECRET_KEY.accessKeySecret);
  });

  it('text output names the adoption, and --detailed-exitcode reports changes as 2', async () => {
    const r = await plan(['-f', await manifests(), '--kubeconfig', testKubeconfig(), '--detailed-exitcode']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`    adopting: will revoke ${A[2]}, shared outside Git\n`);
    expect(r.stdout).not.toContain('pass --kubeconfig');
  });

  it('without --kubeconfig the same plan cannot tell: every Authoritative revoke may be adoption, no Additive revoke', async () => {
    const r = await plan(['-f', await manifests(), '--output', 'json']);
    const rows = byObject(r.stdout);
    expect(rows.get('golden')).toMatchObject({ live: 'not read', adopting: [A[0], A[2]] });
    expect(rows.get('team')).toMatchObject({ plan: { revoke: [] } });
    expect(rows.get('partner')).toMatchObject({ identity: 'default', error: { reason: 'ImageNotFound' } });
    expect(r.code).toBe(1);
  });

  it('a kubeconfig that may read ImageShares but not Secrets: the plan says so and uses the default identity', async () => {
    const user = `plan-reader-${ns}`;
    const kubeconfig = await addTestUser(user);
    await kubectl(['create', 'role', 'plan-reader', '-n', ns, '--verb=get', '--resource=imageshares.ecs.alicloud.dev']);
    await kubectl(['create', 'rolebinding', 'plan-reader', '-n', ns, '--role=plan-reader', `--user=${user}`]);
    const r = await plan(['-f', await manifests(), '--kubeconfig', kubeconfig, '--output', 'json']);
    const rows = byObject(r.stdout);
    expect(rows.get('golden')).toMatchObject({ live: 'found', adopting: [A[2]] });
    expect(rows.get('partner')).toMatchObject({
      identity: 'default',
      note: `this kubeconfig may not read Secret ${ns}/partner-key. Used the default identity.`,
    });
  });
});
