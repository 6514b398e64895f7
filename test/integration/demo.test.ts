// `npm run demo` end to end, as a user runs it, against the integration control plane (--kubeconfig, so no second
// apiserver) in a namespace of its own. The assertions look for each step's evidence in what the demo printed: the
// real kubectl tables, events and jsonpath output, and the emulator's call counts; then that teardown removed the
// demo's objects from the cluster.
import { randomBytes } from 'node:crypto';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { binDir, testKubeconfig } from '../harness/env.ts';
import { kubectl } from '../harness/kubectl.ts';
import { type ProcessResult, runProcess } from '../harness/run-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const DEMO = join(ROOT, 'test', 'demo', 'demo.ts');

function runDemo(args: readonly string[]): Promise<ProcessResult> {
  const env = { ...process.env, PATH: `${binDir()}${delimiter}${process.env.PATH ?? ''}`, NODE_NO_WARNINGS: '1' };
  return runProcess(NODE, [DEMO, ...args], { cwd: ROOT, env });
}

/** The text printed under step `n` (from its header to the next one). */
function section(out: string, n: number): string {
  const start = out.indexOf(`==> [${n}/8]`);
  if (start < 0) return '';
  const next = out.indexOf(`==> [${n + 1}/8]`, start);
  return out.slice(start, next < 0 ? undefined : next);
}

/** The last `kubectl get ishare` table printed in `text` (the rows under its last header). */
function lastTable(text: string): string {
  const at = text.lastIndexOf('NAME ');
  return at < 0
    ? ''
    : text
        .slice(at)
        .split('\n')
        .filter((l) => /^\s+\S/.test(l) || l.startsWith('NAME'))
        .join('\n');
}

/** A printer-column row: name, image, region, accounts, community, ready, reason (Age ignored). */
const row = (...cells: string[]) => new RegExp(`^\\s*${cells.join('\\s+')}\\s`, 'm');

describe('npm run demo --kubeconfig', () => {
  const namespace = `demo-${randomBytes(3).toString('hex')}`;
  let result: ProcessResult;
  let out: string;

  beforeAll(async () => {
    result = await runDemo(['--kubeconfig', testKubeconfig(), '--namespace', namespace, '--timeout', '150']);
    out = result.stdout;
  }, 600_000);

  it('exits 0 after printing all eight steps in order', () => {
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const positions = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => out.indexOf(`==> [${n}/8]`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(out).toContain('demo finished');
  });

  it('step 3 applies every example into the chosen namespace', () => {
    const s = section(out, 3);
    expect(s).toContain(`namespace/${namespace} created`);
    for (const name of [
      'golden-ubuntu-2404',
      'ubuntu-cmk-team-shares',
      'ubuntu-2404-next-community',
      'partner-event-image',
      'golden-ubuntu-2204',
      'golden-ubuntu-2404-eu',
    ]) {
      expect(s).toContain(`imageshare.ecs.alicloud.dev/${name} created`);
    }
    expect(s).toContain('secret/image-owner created');
  });

  it('step 4 shows, in kubectl printer columns, the objects settling with the expected reasons and the plan', () => {
    const s = section(out, 4);
    expect(s).toMatch(
      /ubuntu-2404-next-community\s+m-bp1creating00000001\s+cn-hangzhou\s.*\sFalse\s+ImageNotAvailable\s/,
    );
    const table = lastTable(s.slice(0, s.indexOf('settled:')));
    expect(table).toMatch(
      row('golden-ubuntu-2404', 'm-bp18ygjuqnwhechc1234', 'cn-hangzhou', '4', 'false', 'True', 'Synced'),
    );
    expect(table).toMatch(
      row('ubuntu-cmk-team-shares', 'm-bp1cmkencrypted0001', 'cn-hangzhou', '3', 'false', 'True', 'Synced'),
    );
    expect(table).toMatch(
      row('partner-event-image', 'm-bp1sensitive0000001', 'cn-hangzhou', '2', 'false', 'True', 'Synced'),
    );
    expect(table).toMatch(
      row('ubuntu-2404-next-community', 'm-bp1creating00000001', 'cn-hangzhou', '0', 'true', 'True', 'Synced'),
    );
    expect(table).toMatch(
      row('golden-ubuntu-2404-eu', 'm-gw8euimage000000001', 'eu-central-1', '0', 'false', 'False', 'PlanPending'),
    );
    expect(table).toMatch(
      row('golden-ubuntu-2204', 'm-bp1deprecated000001', 'cn-hangzhou', '1', 'false', 'False', 'ImageDeprecated'),
    );
    expect(s).toContain('{"grant":["2000000000000020","2000000000000021","2000000000000022"],"revoke":[]}');
  });

  it('step 5 shows the out-of-band share, its revert and the DriftCorrected event', () => {
    const s = section(out, 5);
    expect(s).toMatch(/cloud share list now: .*2000000000000050/);
    expect(s).toMatch(
      /cloud share list after: +1234567890123456, 2000000000000001, 2000000000000004, 2000000000000005 /,
    );
    expect(s).toMatch(
      /Normal\s+DriftCorrected\s+imageshare\/golden-ubuntu-2404\s+Corrected drift: 1 account\(s\) shared out of band \(2000000000000050\)/,
    );
    expect(s).toMatch(/Normal\s+Revoked\s+imageshare\/golden-ubuntu-2404\s+Revoked 1 account\(s\): 2000000000000050\./);
  });

  it('step 6 shows the failing object Stalled with its reason, message and per-account outcome', () => {
    const s = section(out, 6);
    expect(s).toMatch(/Ready\tFalse\tImageDeprecated\tThe image is deprecated/);
    expect(s).toMatch(/Stalled\tTrue\tImageDeprecated\t/);
    expect(s).toMatch(/2000000000000003\tShared/);
    expect(s).toMatch(/Warning\s+ImageDeprecated\s+imageshare\/golden-ubuntu-2204/);
  });

  it('step 7: a new build joins the family, the oldest falls out of keep: latest 2 and is unshared', () => {
    const s = section(out, 7);
    const set = 'golden-ubuntu-2404';
    const child = (region: string, image: string) => `${set}-${region}-${image}`;
    const [before = '', after = ''] = s.split('the pipeline finishes m-bp1golden2404b00003');
    // Why: the child tables are kubectl's, so each name shown is an object the apiserver holds at that moment.
    for (const name of [
      child('cn-hangzhou', 'm-bp1golden2404b00001'),
      child('cn-hangzhou', 'm-bp1golden2404b00002'),
      child('eu-central-1', 'm-gw8golden2404b00001'),
    ])
      expect(before).toContain(name);
    expect(after).toContain(child('cn-hangzhou', 'm-bp1golden2404b00003'));
    const children = after.slice(after.lastIndexOf('$ kubectl get ishare'), after.lastIndexOf('cloud:'));
    expect(children).toContain(child('cn-hangzhou', 'm-bp1golden2404b00002'));
    expect(children).not.toContain(child('cn-hangzhou', 'm-bp1golden2404b00001'));
    expect(after).toMatch(/m-bp1golden2404b00001 \(the oldest build\) is shared with nobody now/);
    expect(after).toMatch(/Normal\s+ChildDeleted\s+imagesharesets?\/golden-ubuntu-2404/);
    expect(after).toMatch(/Normal\s+ChildCreated\s+imagesharesets?\/golden-ubuntu-2404/);
  });

  it('step 8 prints the emulator-recorded ECS calls by action, and teardown reports every part stopped', () => {
    const s = section(out, 8);
    const total = Number(/(\d+) ECS API calls:/.exec(s)?.[1]);
    const rows = [...s.matchAll(/^\s+(Describe\w+|Modify\w+|Tag\w+|Untag\w+)\s+(\d+)\s+\(/gm)];
    // The three sharing actions, and TagResources: each object records itself as its image's owner (ADR 0008).
    expect(rows.map((m) => m[1])).toEqual(
      expect.arrayContaining([
        'DescribeImages',
        'DescribeImageSharePermission',
        'ModifyImageSharePermission',
        'TagResources',
      ]),
    );
    expect(rows.map((m) => Number(m[2])).reduce((a, b) => a + b, 0)).toBe(total);
    expect(s).toMatch(/ModifyImageSharePermission\s+\d+\s+\(.*OperationDenied\.InvalidImageStatus/);
    for (const part of [`the examples' objects in ${namespace}`, 'operator (SIGTERM)', 'ECS emulator'])
      expect(s).toContain(`stopped: ${part}`);
  });

  it('never prints the access key secret', () => {
    expect(out + result.stderr).not.toContain('demo-fake-secret-not-a-real-key');
  });

  it('leaves no ImageShare or Secret of the demo behind', async () => {
    const left = await kubectl(['get', 'imageshares,secrets', '-n', namespace, '-o', 'name']);
    expect(left.stdout.trim()).toBe('');
  });
});

describe('npm run demo flags', () => {
  it('--help prints the usage and exits 0 without starting anything', async () => {
    const r = await runDemo(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--keep[\s\S]*--kubeconfig <path>[\s\S]*--namespace <name>/);
    expect(r.stdout).not.toContain('==> [1/8]');
  });

  it('an unknown flag or a bad namespace is a usage error (exit 2) that names the problem', async () => {
    const unknown = await runDemo(['--no-such-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--no-such-flag'");
    const bad = await runDemo(['--namespace', 'Not_A_Label']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--namespace must be a DNS label');
  });
});
