// The ImageShareSet CRD as users meet it (docs/adr/0027): `kubectl apply` against the real kube-apiserver, so the
// schema, the CEL rules and their worded messages, the defaults, printer columns and `kubectl explain` are the
// apiserver's own behaviour.
import { readdir, readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import type { ImageShareSet } from '../../src/fleet/types.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';

let ns = '';
beforeAll(async () => {
  ns = await createNamespace('fleet-crd');
});

const manifest = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShareSet',
  metadata: { name, namespace: ns },
  spec: { selector: { imageFamily: 'golden' }, regions: ['cn-hangzhou'], ...spec },
});

async function rejection(name: string, spec: Record<string, unknown>): Promise<string> {
  const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest(name, spec)), allowFail: true });
  expect(r.code).not.toBe(0);
  return r.stderr;
}

describe('ImageShareSet admission', () => {
  it('accepts a minimal set and fills the defaults (keep latest 1, maxChildren 100, Retain, Authoritative, Apply)', async () => {
    await applyYaml(manifest('minimal', {}));
    const s = await getJson<ImageShareSet>('imageshareset', ns, 'minimal');
    expect(s.spec).toEqual({
      selector: { imageFamily: 'golden' },
      regions: ['cn-hangzhou'],
      keep: { latest: 1 },
      maxChildren: 100,
      sharePolicy: 'Authoritative',
      deletionPolicy: 'Retain',
      mode: 'Apply',
      suspend: false,
    });
  });

  const rejected: Array<{ why: string; spec: Record<string, unknown>; says: string }> = [
    {
      why: 'an empty selector would select every image the credentials own',
      spec: { selector: {} },
      says: 'selector needs at least one of imageFamily, tags or namePrefix',
    },
    {
      why: 'an empty family and an empty tag map are no criterion either',
      spec: { selector: { imageFamily: '', tags: {} } },
      says: 'selector needs at least one of imageFamily, tags or namePrefix',
    },
    {
      why: 'community excludes account-set references as it excludes accounts',
      spec: { community: true, accountSetRefs: [{ kind: 'AccountSet', name: 'prod' }] },
      says: 'community: true cannot be combined with accountSetRefs',
    },
    {
      why: 'a reference names one of the two account-list kinds',
      spec: { accountSetRefs: [{ kind: 'Secret', name: 'prod' }] },
      says: 'spec.accountSetRefs[0].kind',
    },
    {
      why: 'an account both unending and expiring is ambiguous, as on ImageShare',
      spec: {
        accounts: ['1234567890123456'],
        expiringAccounts: [{ id: '1234567890123456', expiresAt: '2099-01-01T00:00:00Z' }],
      },
      says: 'an account is listed both in accounts',
    },
    {
      why: 'community excludes expiring accounts too',
      spec: { community: true, expiringAccounts: [{ id: '1234567890123456', expiresAt: '2099-01-01T00:00:00Z' }] },
      says: 'community: true cannot be combined with expiringAccounts',
    },
    { why: 'keep says one thing', spec: { keep: { latest: 2, all: true } }, says: 'keep must set exactly one of' },
    { why: 'keep must say something', spec: { keep: {} }, says: 'keep must set exactly one of' },
    {
      why: 'community excludes accounts, as on ImageShare',
      spec: { community: true, accounts: ['1234567890123456'] },
      says: 'community: true cannot be combined with a non-empty accounts list',
    },
    {
      why: 'a region is a region ID',
      spec: { regions: ['Hangzhou'] },
      says: 'a region must be an Alibaba Cloud region ID',
    },
    { why: 'at least one region', spec: { regions: [] }, says: 'spec.regions' },
    {
      why: 'discovery is bounded below',
      spec: { discoveryInterval: '1s' },
      says: 'discoveryInterval must be between 10s and 24h',
    },
    {
      why: 'more than 50 accounts is over the ECS limit per image',
      spec: { accounts: Array.from({ length: 51 }, (_, i) => String(1000000000000000 + i)) },
      says: 'spec.accounts',
    },
  ];
  it.each(rejected)('rejects: $why', async ({ spec, says }) => {
    expect(await rejection('bad', spec)).toContain(says);
  });

  it('rejects a name longer than 40 characters, so every child name stays valid', async () => {
    const r = await kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ ...manifest('x'.repeat(41), {}) }),
      allowFail: true,
    });
    expect(r.stderr).toContain('an ImageShareSet name is at most 40 characters');
  });

  it('prints Family, Regions, Children, Synced, Ready, Reason and Age, and kubectl explain documents the fields', async () => {
    const r = await kubectl(['get', 'imagesharesets', '-n', ns]);
    expect(r.stdout.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'FAMILY',
      'REGIONS',
      'CHILDREN',
      'SYNCED',
      'READY',
      'REASON',
      'AGE',
    ]);
    const explain = await kubectl(['explain', 'imageshareset.spec.keep']);
    expect(explain.stdout).toContain('latest N');
    const short = await kubectl(['get', 'ishareset', '-n', ns, '-o', 'name']);
    expect(short.stdout).toContain('imageshareset.ecs.alicloud.dev/minimal');
  });
});

describe('examples/fleet', () => {
  it('every example is admitted as written (server-side apply, dry run), its namespace aside', async () => {
    const dir = new URL('../../examples/fleet/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      for (const doc of parseAllDocuments(await readFile(new URL(file, dir), 'utf8'))) {
        const obj = doc.toJS() as { metadata: { namespace?: string } };
        obj.metadata.namespace = ns;
        const r = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], {
          input: JSON.stringify(obj),
          allowFail: true,
        });
        expect({ file, stderr: r.stderr, code: r.code }).toEqual({ file, stderr: '', code: 0 });
      }
    }
  });
});

describe('AccountSet and ClusterAccountSet admission', () => {
  const accountSet = (accounts: unknown[]) => ({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'AccountSet',
    metadata: { name: 'prod', namespace: ns },
    spec: { accounts },
  });
  it('accepts IDs with descriptions', async () => {
    await applyYaml(accountSet([{ id: '1234567890123456', description: 'production' }, { id: '2234567890123456' }]));
    const got = await getJson<{ spec: { accounts: unknown[] } }>('accountset', ns, 'prod');
    expect(got.spec.accounts).toEqual([
      { id: '1234567890123456', description: 'production' },
      { id: '2234567890123456' },
    ]);
  });
  it.each([
    [
      'an ID twice (the list is a set keyed by id)',
      [{ id: '1234567890123456' }, { id: '1234567890123456' }],
      'Duplicate value',
    ],
    ['an ID that is not digits', [{ id: '12ab' }], 'an account ID is 1 to 20 decimal digits'],
    [
      'more than 50 accounts',
      Array.from({ length: 51 }, (_, i) => ({ id: String(1000000000000000 + i) })),
      'spec.accounts',
    ],
  ])('rejects %s', async (_why, accounts, says) => {
    const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(accountSet(accounts)), allowFail: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(says);
  });
  it('ClusterAccountSet is cluster-scoped', async () => {
    const r = await kubectl(['api-resources', '--api-group=ecs.alicloud.dev', '--namespaced=false', '-o', 'name']);
    expect(r.stdout).toContain('clusteraccountsets.ecs.alicloud.dev');
  });
});
