// `imageshare-operator plan` for an ImageShareSet through the unmodified SDK against the emulator: it lists each
// region's own images as discovery does and prints, through the controller's planner, which children Apply would
// create (and whom each shares with), and it never writes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runCli } from '../../src/cli/commands.ts';
import type { SetPlanResult } from '../../src/cli/plan-sets.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import type { ImageSharingFactory } from '../../src/cloud/port.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';

const OWNER = '1000000000000001';
const KEY = { accessKeyId: 'LTAItestCliPlanSet1', accessKeySecret: 'test-only-cli-plan-set-secret' };
const A = ['2000000000000001', '2000000000000002', '2000000000000003'];
const build = (id: string, region: string, hour: number, over: Record<string, unknown> = {}) => ({
  id,
  region,
  owner: OWNER,
  name: `golden-${hour}`,
  family: 'golden',
  creationTime: `2026-01-01T${String(hour).padStart(2, '0')}:00:00Z`,
  ...over,
});

let emu: Emulator;
let cloud: ImageSharingFactory;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      owners: [{ id: OWNER, site: 'international', keys: [KEY] }],
      accounts: A.map((id) => ({ id, site: 'international' as const })),
      regions: [{ id: 'cn-hangzhou' }, { id: 'cn-beijing' }],
      images: [
        build('m-setplan00001', 'cn-hangzhou', 1),
        build('m-setplan00002', 'cn-hangzhou', 2),
        build('m-setplan00003', 'cn-hangzhou', 3),
        build('m-setplan00004', 'cn-hangzhou', 4, { status: 'Creating' }),
        build('m-setplan00005', 'cn-hangzhou', 5, { family: 'other' }),
        build('m-setplan00011', 'cn-beijing', 1),
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
  dir = mkdtempSync(join(tmpdir(), 'imageshare-cli-sets-'));
});
afterAll(async () => {
  await emu?.close();
});

const doc = (kind: string, name: string, spec: Record<string, unknown>, namespace: string | undefined = 'team') =>
  stringify({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind,
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec,
  });
const setDoc = (spec: Record<string, unknown>) =>
  doc('ImageShareSet', 'golden', {
    selector: { imageFamily: 'golden' },
    regions: ['cn-hangzhou', 'cn-beijing'],
    ...spec,
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

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('plan for an ImageShareSet', () => {
  it('creates one child per kept Available build per region, each sharing with the union of accounts and sets', async () => {
    // keep latest 2: the Creating build waits and the other family never counts, so hangzhou keeps builds 3 and 2.
    const file = write(
      'set.yaml',
      `${setDoc({ keep: { latest: 2 }, accounts: [A[0]], accountSetRefs: [{ kind: 'ClusterAccountSet', name: 'org' }] })}---\n${doc('ClusterAccountSet', 'org', { accounts: [{ id: A[1] }] }, undefined)}`,
    );
    await emu.admin.clearCalls();
    const r = await run(['plan', '-f', file, '--output', 'json']);
    expect(r).toMatchObject({ code: 0, err: '' });
    const [plan] = JSON.parse(r.out) as SetPlanResult[];
    expect(plan?.children.create.map((c) => [c.name, c.accounts])).toEqual([
      ['golden-cn-hangzhou-m-setplan00003', [A[0], A[1]]],
      ['golden-cn-hangzhou-m-setplan00002', [A[0], A[1]]],
      ['golden-cn-beijing-m-setplan00011', [A[0], A[1]]],
    ]);
    expect(plan?.regions).toMatchObject([
      { regionId: 'cn-hangzhou', matched: 3, kept: 2, newestImageId: 'm-setplan00003' },
      { regionId: 'cn-beijing', matched: 1, kept: 1 },
    ]);
    const calls = (await emu.admin.calls()).counts.byAction;
    // One DescribeImages per region (one page each), and no write of any kind.
    expect(calls).toEqual({ DescribeImages: 2 });
  });

  it('text output names each child, its image and whom it shares with', async () => {
    const file = write('text.yaml', setDoc({ accounts: [A[2]] }));
    const r = await run(['plan', '-f', file]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'ImageShareSet team/golden: Apply would create 2, keep 0, set back 0 and delete 0 child ImageShare(s)',
        `    every child shares with: ${A[2]}`,
        '    cn-hangzhou: 3 image(s) match, 1 kept; newest m-setplan00003 (golden-3, 2026-01-01T03:00:00Z)',
        '    cn-beijing: 1 image(s) match, 1 kept; newest m-setplan00011 (golden-1, 2026-01-01T01:00:00Z)',
        `    create golden-cn-hangzhou-m-setplan00003 (cn-hangzhou m-setplan00003): share with ${A[2]}`,
        `    create golden-cn-beijing-m-setplan00011 (cn-beijing m-setplan00011): share with ${A[2]}`,
        '',
      ].join('\n'),
    );
  });

  it('markdown output: a set is one row, children created in Grant (with their accounts) and deleted in Revoke', async () => {
    const file = write('markdown.yaml', setDoc({ regions: ['cn-beijing'], accounts: [A[2]] }));
    const r = await run(['plan', '-f', file, '--output', 'markdown']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 object(s): 1 with changes, 0 that could not be planned.');
    expect(r.out).toContain(
      `| \`ImageShareSet team/golden\` | create golden-cn-beijing-m-setplan00011 (${A[2]}) | — | — | — | default identity |`,
    );
  });

  it('a reference not in the files is named, and the plan goes on without its accounts', async () => {
    const file = write('missing-ref.yaml', setDoc({ accountSetRefs: [{ kind: 'AccountSet', name: 'prod' }] }));
    const r = await run(['plan', '-f', file, '--output', 'json']);
    const [plan] = JSON.parse(r.out) as SetPlanResult[];
    expect(plan?.note).toContain('AccountSet prod not in the given files');
    expect(plan?.children.create).toHaveLength(2);
  });

  it('a window over maxChildren is a blocker (exit 2 with --detailed-exitcode), as the controller stops', async () => {
    const file = write('too-many.yaml', setDoc({ keep: { all: true }, maxChildren: 2, accounts: [A[0]] }));
    const r = await run(['plan', '-f', file, '--detailed-exitcode']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('Apply would create 0');
    expect(r.out).toContain('blocked: TooManyChildren');
  });

  it('a region that cannot be listed is reported and its children left alone, exit 0', async () => {
    const file = write('bad-region.yaml', setDoc({ regions: ['cn-hangzhou', 'eu-nowhere-9'], accounts: [A[0]] }));
    const r = await run(['plan', '-f', file]);
    expect(r.out).toMatch(/eu-nowhere-9: cannot list images \(/);
    expect(r.out).toContain(`    every child shares with: ${A[0]}\n`);
    expect(r.out).toContain('create golden-cn-hangzhou-m-setplan00003');
  });

  it('an invalid set is reported by validate and plan, and nothing is read from the cloud', async () => {
    const file = write('invalid.yaml', setDoc({ selector: {}, keep: { latest: 0 } }));
    await emu.admin.clearCalls();
    const r = await run(['plan', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('spec.selector: selector needs at least one of imageFamily, tags or namePrefix');
    expect((await emu.admin.calls()).calls).toEqual([]);
  });
});
