// kubeconform, as a GitOps repository runs it in CI, over the fleet kinds (ImageShareSet, AccountSet,
// ClusterAccountSet) with schemas/ (generated from crds/ by `npm run generate-schemas`): every manifest of
// examples/fleet is checked against our schema (none skipped) and valid, and the mistakes a schema can see fail.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import { GoHelper, goHelperPath } from '../harness/go-helpers.ts';
import { runProcess } from '../harness/run-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FLEET = join(ROOT, 'examples', 'fleet');
const SCHEMA_LOCATION = 'schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json';
const KINDS = ['ImageShareSet', 'AccountSet', 'ClusterAccountSet'];

interface Resource {
  filename: string;
  kind: string;
  name: string;
  status: string;
  msg?: string;
}

async function kubeconform(args: readonly string[], input = ''): Promise<{ code: number; resources: Resource[] }> {
  const bin = await goHelperPath(GoHelper.Kubeconform);
  const r = await runProcess(
    bin,
    ['-output', 'json', '-verbose', '-ignore-missing-schemas', '-schema-location', SCHEMA_LOCATION, ...args],
    { input, cwd: ROOT, timeoutMs: 60_000 },
  );
  return { code: r.code, resources: (JSON.parse(r.stdout) as { resources?: Resource[] }).resources ?? [] };
}

const SET = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShareSet',
  metadata: { name: 'golden', namespace: 'platform-images' },
  spec: { selector: { imageFamily: 'golden' }, regions: ['cn-hangzhou'], accounts: ['1234567890123456'] },
};
const set = (spec: Record<string, unknown>) => ({ ...SET, spec: { ...SET.spec, ...spec } });
const ACCOUNTS = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ClusterAccountSet',
  metadata: { name: 'org' },
  spec: { accounts: [{ id: '1234567890123456' }] },
};
const accounts = (list: unknown) => ({ ...ACCOUNTS, spec: { accounts: list } });

// Each row is a mistake the schema sees; CEL rules (an empty selector, keep with both) need the apiserver or validate.
const INVALID: ReadonlyArray<{ why: string; doc: unknown; path: RegExp }> = [
  { why: 'a region in upper case is not a region ID', doc: set({ regions: ['CN-Hangzhou'] }), path: /regions\/0/ },
  { why: 'a set needs at least one region', doc: set({ regions: [] }), path: /regions/ },
  { why: 'keep latest 0 would share nothing', doc: set({ keep: { latest: 0 } }), path: /keep\/latest/ },
  { why: 'maxChildren is bounded (1 to 1000)', doc: set({ maxChildren: 5000 }), path: /maxChildren/ },
  {
    why: 'a reference names an AccountSet or a ClusterAccountSet, nothing else',
    doc: set({ accountSetRefs: [{ kind: 'Secret', name: 'x' }] }),
    path: /accountSetRefs\/0\/kind/,
  },
  {
    why: 'a misspelled selector field would select every image',
    doc: set({ selector: { family: 'g' } }),
    path: /family/,
  },
  { why: 'a misspelled spec field would be dropped', doc: set({ region: ['cn-hangzhou'] }), path: /region/ },
  {
    why: 'a discovery interval is a Go duration',
    doc: set({ discoveryInterval: 'five minutes' }),
    path: /discoveryInterval/,
  },
  {
    why: 'an account set entry is {id}, not a bare ID',
    doc: accounts(['1234567890123456']),
    path: /accounts\/0/,
  },
  {
    why: 'an account ID with a leading zero never matches what ECS reports',
    doc: accounts([{ id: '0123456789012345' }]),
    path: /accounts\/0\/id/,
  },
  {
    why: 'an account list over 50 is over the ECS limit per image',
    doc: accounts(Array.from({ length: 51 }, (_, i) => ({ id: String(1e15 + i) }))),
    path: /accounts/,
  },
  { why: 'a misspelled entry field', doc: accounts([{ id: '1234567890123456', descripton: 'x' }]), path: /descripton/ },
];

describe('kubeconform over the fleet kinds', () => {
  it('accepts every manifest of examples/fleet, each checked against our schema (none skipped)', async () => {
    const files = (await readdir(FLEET))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(FLEET, f));
    const expected: string[] = [];
    for (const f of files)
      for (const d of parseAllDocuments(await readFile(f, 'utf8'))) {
        const kind = (d.toJS() as { kind?: string } | null)?.kind;
        if (kind !== undefined) expected.push(kind);
      }
    const r = await kubeconform(files);
    expect(r.resources.map((x) => `${x.kind} ${x.name}: ${x.status} ${x.msg ?? ''}`.trim())).toEqual(
      r.resources.map((x) => `${x.kind} ${x.name}: statusValid`),
    );
    expect(r.code).toBe(0);
    expect(r.resources.map((x) => x.kind).sort()).toEqual(expected.sort());
    // Why: every fleet kind is exercised, so a missing schema (skipped, not failed) cannot hide.
    expect([...new Set(expected)].sort()).toEqual([...KINDS].sort());
  });

  it.each([
    ['ImageShareSet', SET],
    ['ClusterAccountSet', ACCOUNTS],
  ])('accepts the valid base %s the invalid rows are made from', async (_kind, doc) => {
    const r = await kubeconform(['-'], stringify(doc));
    expect(r.resources.map((x) => x.status)).toEqual(['statusValid']);
  });

  it.each(INVALID)('rejects: $why', async ({ doc, path }) => {
    const r = await kubeconform(['-'], stringify(doc));
    expect(r.code).toBe(1);
    expect(r.resources.map((x) => x.status)).toEqual(['statusInvalid']);
    expect(r.resources[0]?.msg).toMatch(path);
  });
});
