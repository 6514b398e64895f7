// `validate` for the fleet kinds (src/api/validate-sets.ts) on the shared corpus (test/support/validate-rows.ts);
// test/integration/validate.test.ts sends the same rows to a real kube-apiserver and compares verdicts and fields.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { SetMessage, fleetKindOf, validateFleetFields } from '../../src/api/validate-sets.ts';
import { runCli } from '../../src/cli/commands.ts';
import { FLEET_ROWS } from '../support/validate-rows.ts';

describe('validateFleetFields', () => {
  it.each(FLEET_ROWS)('$kind: $why', ({ kind, doc, field, message }) => {
    const problems = validateFleetFields(kind, doc);
    if (field === null) expect(problems).toEqual([]);
    else
      expect(
        problems.filter((p) => p.field === field && (message === undefined || p.message.includes(message))),
      ).not.toEqual([]);
  });

  it.each(Object.entries(SetMessage))('%s is taken from a CEL message of crds/imageshareset.yaml', async (_k, m) => {
    // Why: the apiserver prints the CRD's sentence and validate prints ours; a user must read the same words.
    const crd = await readFile(new URL('../../crds/imageshareset.yaml', import.meta.url), 'utf8');
    expect(celMessages(parse(crd)).some((c) => c.includes(m))).toBe(true);
  });

  it.each<[unknown, string | undefined, string]>([
    [{ kind: 'ImageShareSet' }, 'ImageShareSet', 'the set kind'],
    [{ kind: 'imageshareset' }, 'ImageShareSet', 'a case slip is validated (and reported), not skipped'],
    [{ kind: 'ClusterAccountSet' }, 'ClusterAccountSet', 'the cluster-scoped list'],
    [{ kind: 'ImageShare' }, undefined, 'an ImageShare has its own validator'],
    [{ kind: 'ImageSharePolicy' }, undefined, 'policies are read by --policy, not validated here'],
  ])('fleetKindOf(%j) is %s (%s)', (doc, want) => {
    expect(fleetKindOf(doc)).toBe(want);
  });
});

describe('imageshare-operator validate with the fleet kinds', () => {
  it('checks sets and account sets next to ImageShares and names each by kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-cli-validate-'));
    const file = join(dir, 'fleet.yaml');
    const meta = { name: 'golden', namespace: 'team' };
    const docs = [
      {
        apiVersion: 'ecs.alicloud.dev/v1alpha1',
        kind: 'ImageShareSet',
        metadata: meta,
        spec: { selector: {}, regions: ['cn-hangzhou'] },
      },
      {
        apiVersion: 'ecs.alicloud.dev/v1alpha1',
        kind: 'AccountSet',
        metadata: meta,
        spec: { accounts: [{ id: '1234567890123456' }] },
      },
      {
        apiVersion: 'ecs.alicloud.dev/v1alpha1',
        kind: 'ClusterAccountSet',
        metadata: { name: 'org' },
        spec: { accounts: [{ id: '007' }] },
      },
    ];
    writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
    let out = '';
    const code = await runCli(['validate', '-f', file], {
      out: (t) => {
        out += t;
      },
      err: () => undefined,
    });
    expect(code).toBe(1);
    expect(out).toContain(`✗ ImageShareSet team/golden (${file})\n    spec.selector: ${SetMessage.selector}`);
    expect(out).toContain(`✓ AccountSet team/golden (${file})`);
    expect(out).toContain(`✗ ClusterAccountSet org (${file})\n    spec.accounts[0].id: an account ID is 1 to 20`);
    expect(out).toContain('1 valid, 2 invalid');
  });
});

function celMessages(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(celMessages);
  if (node === null || typeof node !== 'object') return [];
  const o = node as Record<string, unknown>;
  const own = typeof o.message === 'string' && typeof o.rule === 'string' ? [o.message.replace(/\s+/g, ' ')] : [];
  const expr = typeof o.messageExpression === 'string' ? [o.messageExpression.replace(/\s+/g, ' ')] : [];
  return [...own, ...expr, ...Object.values(o).flatMap(celMessages)];
}
