// kubeconform, as GitOps repositories run it in CI, with the schema this repository ships in the CRDs-catalog layout
// (schemas/, generated from the CRD by test/support/crd-json-schema.ts). The examples must pass and each invalid
// manifest must fail, so a pull request that breaks an ImageShare is caught before it reaches a cluster.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import { GoHelper, goHelperPath } from '../harness/go-helpers.ts';
import { runProcess } from '../harness/run-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
/** The line docs/ci and the README tell users to pass (relative to a checkout of this repository). */
const SCHEMA_LOCATION = 'schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json';

interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  status: string;
  msg?: string;
}

/** Runs kubeconform on `args` from the repository root (no network: missing schemas are skipped, and counted). */
async function kubeconform(
  args: readonly string[],
  input = '',
): Promise<{ code: number; resources: KubeconformResource[] }> {
  const bin = await goHelperPath(GoHelper.Kubeconform);
  const r = await runProcess(
    bin,
    ['-output', 'json', '-verbose', '-ignore-missing-schemas', '-schema-location', SCHEMA_LOCATION, ...args],
    {
      input,
      cwd: ROOT,
      timeoutMs: 60_000,
    },
  );
  const parsed = JSON.parse(r.stdout) as { resources?: KubeconformResource[] };
  return { code: r.code, resources: parsed.resources ?? [] };
}

const VALID = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name: 'golden', namespace: 'platform-images' },
  spec: { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234', accounts: ['1234567890123456'] },
};
type Manifest = Record<string, unknown> & { spec: Record<string, unknown> };
const withSpec = (spec: Record<string, unknown>): Manifest => ({
  ...structuredClone(VALID),
  spec: { ...VALID.spec, ...spec },
});

// Each row is a mistake a schema can see (CEL rules such as community-with-accounts need the apiserver or `validate`).
const INVALID: ReadonlyArray<{ why: string; doc: unknown; path: RegExp }> = [
  {
    why: 'an account ID with a leading zero never matches what ECS reports',
    doc: withSpec({ accounts: ['0123456789012345'] }),
    path: /accounts\/0/,
  },
  {
    why: 'account IDs are strings of digits; a YAML number loses precision',
    doc: withSpec({ accounts: [1234567890123456] }),
    path: /accounts\/0/,
  },
  { why: 'an image ID looks like m-…', doc: withSpec({ imageId: 'ubuntu-24.04' }), path: /imageId/ },
  { why: 'a region ID looks like cn-hangzhou', doc: withSpec({ regionId: 'Hangzhou' }), path: /regionId/ },
  {
    why: 'more than 50 accounts is over the ECS limit per image',
    doc: withSpec({ accounts: Array.from({ length: 51 }, (_, i) => String(1e15 + i)) }),
    path: /accounts/,
  },
  { why: 'sharePolicy is an enum', doc: withSpec({ sharePolicy: 'Exclusive' }), path: /sharePolicy/ },
  {
    why: 'community is a boolean, not a word such as "enabled"',
    doc: withSpec({ community: 'enabled' }),
    path: /community/,
  },
  {
    why: 'a misspelled spec field would be silently dropped by a lenient apply',
    doc: withSpec({ acounts: ['1234567890123456'] }),
    path: /acounts/,
  },
  {
    why: 'an unknown top-level field is rejected by the apiserver too',
    doc: { ...withSpec({}), specs: {} },
    path: /specs/,
  },
  { why: 'imageId is required', doc: { ...VALID, spec: { regionId: 'cn-hangzhou' } }, path: /imageId/ },
  {
    why: 'a role ARN looks like acs:ram::<uid>:role/<name>',
    doc: withSpec({ credentials: { roleArn: 'arn:aws:iam::1:role/x' } }),
    path: /roleArn/,
  },
  {
    why: 'a role ARN is at most 512 characters',
    doc: withSpec({ credentials: { roleArn: `acs:ram::1:role/${'r'.repeat(600)}` } }),
    path: /roleArn/,
  },
  {
    why: 'a Secret name is a DNS subdomain',
    doc: withSpec({ credentials: { secretRef: { name: 'My_Secret' } } }),
    path: /secretRef\/name/,
  },
  { why: 'resyncInterval is a Go duration', doc: withSpec({ resyncInterval: '5 minutes' }), path: /resyncInterval/ },
];

describe('kubeconform with schemas/', () => {
  it('accepts every ImageShare in examples/ and checks each one against our schema (none skipped)', async () => {
    // Every manifest under examples/, recursively; a Helm values file (examples/try-it/values.yaml) is not one.
    const files = (await readdir(EXAMPLES, { recursive: true }))
      .filter((f) => f.endsWith('.yaml') && !f.endsWith('values.yaml'))
      .sort()
      .map((f) => join(EXAMPLES, f));
    let imageShares = 0;
    for (const f of files) {
      for (const d of parseAllDocuments(await readFile(f, 'utf8'))) {
        if ((d.toJS() as { kind?: string } | null)?.kind === 'ImageShare') imageShares++;
      }
    }
    const r = await kubeconform(files);
    const checked = r.resources.filter((x) => x.kind === 'ImageShare');
    expect(checked.map((x) => `${x.filename}: ${x.status} ${x.msg ?? ''}`.trim())).toEqual(
      checked.map((x) => `${x.filename}: statusValid`),
    );
    expect({ code: r.code, checked: checked.length }).toEqual({ code: 0, checked: imageShares });
    expect(imageShares).toBeGreaterThan(0);
  });

  it('accepts the valid base manifest the invalid rows are made from', async () => {
    const r = await kubeconform(['-'], stringify(VALID));
    expect(r.resources.map((x) => x.status)).toEqual(['statusValid']);
  });

  it.each(INVALID)('rejects: $why', async ({ doc, path }) => {
    const r = await kubeconform(['-'], stringify(doc));
    expect(r.code).toBe(1);
    expect(r.resources.map((x) => x.status)).toEqual(['statusInvalid']);
    expect(r.resources[0]?.msg).toMatch(path);
  });
});
