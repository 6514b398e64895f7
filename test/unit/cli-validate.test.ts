// `imageshare-operator validate` over files: cross-file duplicate claims with the controller's owner rule, the
// JSON output, and documents that are ImageShares by intent but not by spelling.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runCli, type ValidationResult } from '../../src/cli/commands.ts';
import { renderMarkdown } from '../../src/cli/plan-markdown.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imageshare-validate-'));
});

const share = (
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
) => ({
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name, namespace, ...meta },
  spec: { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234', accounts: ['1234567890123456'], ...spec },
});

async function file(name: string, ...docs: object[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, docs.map((d) => stringify(d)).join('---\n'));
  return path;
}

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
  });
  return { code, out, err };
}

describe('validate: duplicate (regionId, imageId) across files', () => {
  it('names both files and the owner the controller would pick (namespace/name when neither is older)', async () => {
    const a = await file('a.yaml', share('team-b', 'zeta'));
    const b = await file('b.yaml', share('team-a', 'alpha'));
    const r = await run(['validate', '-f', a, '-f', b]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`✗ team-b/zeta (${a})`);
    expect(r.out).toContain(`is also claimed by team-a/alpha in ${b}; the controller treats team-a/alpha as the owner`);
    expect(r.out).toContain(`✓ team-a/alpha (${b})`);
  });

  it('follows the controller: an older creationTimestamp wins over namespace/name order', async () => {
    // Why: a manifest exported from the cluster carries its age, and resolveClaim puts age first.
    const a = await file('old.yaml', share('team-z', 'old', {}, { creationTimestamp: '2026-01-01T00:00:00Z' }));
    const b = await file('new.yaml', share('team-a', 'new', {}, { creationTimestamp: '2026-06-01T00:00:00Z' }));
    const r = await run(['validate', '-f', a, '-f', b, '--output', 'json']);
    const out = JSON.parse(r.out) as { duplicates: unknown[]; objects: ValidationResult[] };
    expect(out.duplicates).toEqual([
      {
        regionId: 'cn-hangzhou',
        imageId: 'm-bp18ygjuqnwhechc1234',
        owner: { object: 'team-z/old', source: a },
        others: [{ object: 'team-a/new', source: b }],
      },
    ]);
    expect(out.objects.map((o) => [o.object, o.valid])).toEqual([
      ['team-z/old', true],
      ['team-a/new', false],
    ]);
  });

  it('finds duplicates inside one file and ignores the same image in another region', async () => {
    const f = await file('one.yaml', share('t', 'a'), share('t', 'b'), share('t', 'c', { regionId: 'cn-beijing' }));
    const out = JSON.parse((await run(['validate', '-f', f, '--output', 'json'])).out) as {
      duplicates: Array<{ others: unknown[] }>;
    };
    expect(out.duplicates).toHaveLength(1);
    expect(out.duplicates[0]?.others).toEqual([{ object: 't/b', source: f }]);
  });
});

describe('validate --output json', () => {
  it('prints every object with its problems (field and message) and a summary; exit 1 when any is invalid', async () => {
    const f = await file(
      'mixed.yaml',
      share('t', 'good'),
      share('t', 'bad', { imageId: 'm-bp18ygjuqnwhechc9999', accounts: ['0123'] }),
    );
    const r = await run(['validate', '-f', f, '--output', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({
      objects: [
        { object: 't/good', source: f, valid: true, problems: [] },
        {
          object: 't/bad',
          source: f,
          valid: false,
          problems: [
            {
              field: 'spec.accounts[0]',
              message: 'an account ID is 1 to 20 decimal digits without a leading zero, for example 1234567890123456',
            },
          ],
        },
      ],
      duplicates: [],
      summary: { valid: 1, invalid: 1 },
    });
  });

  it('rejects an output format the command does not have (usage error, exit 2)', async () => {
    const f = await file('fmt.yaml', share('t', 'x'));
    expect((await run(['validate', '-f', f, '--output', 'markdown'])).code).toBe(2);
  });
});

describe('validate: documents meant as ImageShares', () => {
  it('reports a misspelled kind instead of skipping the document', async () => {
    const f = await file(
      'kind.yaml',
      { ...share('t', 'typo'), kind: 'Imageshare' },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
    );
    const r = await run(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('kind: must be ImageShare (kinds are case-sensitive), got "Imageshare"');
    expect(r.out).toContain('0 valid, 1 invalid');
  });

  it('rejects a roleArn over 512 characters and an unknown top-level field, as the apiserver does', async () => {
    const f = await file('strict.yaml', {
      ...share('t', 'x', { credentials: { roleArn: `acs:ram::1:role/${'r'.repeat(600)}` } }),
      extra: true,
    });
    const r = await run(['validate', '-f', f]);
    expect(r.out).toContain('spec.credentials.roleArn: may not be more than 512 characters');
    expect(r.out).toContain('extra: unknown field');
  });
});

describe('plan --output markdown', () => {
  it('renders one table row per object: grants, revokes, community, blockers, credentials', () => {
    const md = renderMarkdown([
      { object: 'team/golden', plan: { grant: ['1', '2'], revoke: ['3'] }, blockers: [], identity: 'default' },
      {
        object: 'team/cmk',
        plan: { grant: [], revoke: [], community: 'publish' },
        blockers: [{ reason: 'EncryptedImageNotPublishable', message: 'a | b' }],
        identity: 'roleArn acs:ram::1:role/x',
      },
      {
        object: 'team/missing',
        error: { reason: 'ImageNotFound', message: 'gone' },
        identity: 'default',
        note: 'credentials.secretRef cannot be read offline; used the default identity',
      },
    ]);
    expect(md.split('\n')).toEqual([
      '<!-- imageshare-operator plan -->',
      '### imageshare-operator plan',
      '',
      '3 object(s): 2 with changes, 1 that could not be planned. Plans never write to ECS.',
      '',
      '| Object | Grant | Revoke | Community | Blockers | Credentials |',
      '|---|---|---|---|---|---|',
      '| `team/golden` | 1, 2 | 3 | — | — | default identity |',
      '| `team/cmk` | — | — | publish | EncryptedImageNotPublishable: a \\| b | roleArn acs:ram::1:role/x |',
      '| `team/missing` | — | — | — | cannot plan: ImageNotFound: gone | default identity (credentials.secretRef cannot be read offline; used the default identity) |',
      '',
    ]);
  });
});

describe('validate and plan read directories recursively', () => {
  it('finds manifests in nested directories (a kustomize tree), skips hidden ones, and names each file', async () => {
    const root = join(dir, 'tree');
    await mkdir(join(root, 'prod/hangzhou'), { recursive: true });
    await mkdir(join(root, '.git'), { recursive: true });
    await writeFile(join(root, 'prod/hangzhou/golden.yml'), stringify(share('team', 'golden')));
    await writeFile(
      join(root, 'prod/base.yaml'),
      stringify(share('team', 'base', { imageId: 'm-bp18ygjuqnwhechc0001' })),
    );
    // Not a manifest of this repository: hidden directories are skipped, so its invalid object is never reported.
    await writeFile(join(root, '.git/junk.yaml'), stringify(share('team', 'junk', { accounts: ['007'] })));
    const r = await run(['validate', '-f', root]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe(
      `✓ team/base (${join(root, 'prod/base.yaml')})\n✓ team/golden (${join(root, 'prod/hangzhou/golden.yml')})\n2 valid, 0 invalid\n`,
    );
  });
});

describe('plan flags', () => {
  it('--detailed-exitcode turns a usage error into 1, since 2 means "changes" there (as in terraform)', async () => {
    // Without the flag a usage error keeps its own code 2; with it, a CI job must never read a typo as "changes".
    expect((await run(['plan', '--detailed-exitcode'])).code).toBe(1);
    expect((await run(['plan'])).code).toBe(2);
  });

  it('validate has no plan-only flags: --kubeconfig and --detailed-exitcode are usage errors there', async () => {
    // validate is offline by design; accepting these silently would suggest it reads the cluster.
    const f = await file('one.yaml', share('team', 'one'));
    expect((await run(['validate', '-f', f, '--kubeconfig', '/dev/null'])).code).toBe(2);
    expect((await run(['validate', '-f', f, '--detailed-exitcode'])).code).toBe(2);
  });

  it('every command keeps --help', async () => {
    for (const command of ['validate', 'plan']) {
      const r = await run([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`imageshare-operator ${command} -f`);
    }
    expect((await run(['plan', '--help'])).out).toContain('--detailed-exitcode');
  });
});

describe('plan --output markdown: adoption', () => {
  it('lists, under the table, accounts an Authoritative object would revoke that it did not grant', () => {
    const md = renderMarkdown([
      { object: 'team/golden', plan: { grant: [], revoke: ['3'] }, blockers: [], adopting: ['3'], live: 'found' },
      { object: 'team/new', plan: { grant: [], revoke: ['4'] }, blockers: [], adopting: ['4'], live: 'not read' },
      { object: 'team/own', plan: { grant: [], revoke: ['5'] }, blockers: [], adopting: [], live: 'found' },
    ]);
    expect(md).toContain('- `team/golden` adopting: will revoke 3, shared outside Git\n');
    expect(md).toContain(
      '- `team/new` adopting: will revoke 4, shared outside Git (or granted by this object earlier: pass --kubeconfig to tell)\n',
    );
    expect(md).not.toContain('`team/own` adopting');
    expect(md).toContain('adopt with `mode: Plan` first (or `sharePolicy: Additive`)');
  });
});
