// The ImageShare CRD as users meet it: `kubectl apply` against a real kube-apiserver + etcd (test/harness), so
// schema validation, CEL rules, defaults, the status subresource, printer columns and `kubectl explain` are the
// apiserver's own behaviour, not a re-implementation.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ApiException, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { FINALIZER, GROUP, type ImageShare, type ImageShareSpec, KIND, PLURAL, VERSION } from '../../src/api/types.ts';
import { testKubeconfig } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';

const IMAGE_ID = 'm-bp18ygjuqnwhechc1234';
const ACCOUNT = '1234567890123456';
const accountIds = (n: number): string[] => Array.from({ length: n }, (_, i) => String(1_000_000_000_000_000 + i));

function manifest(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: { name, namespace, ...metadata },
    spec: { regionId: 'cn-hangzhou', imageId: IMAGE_ID, ...spec },
  };
}

const getShare = (namespace: string, name: string) => getJson<ImageShare>('imageshare', namespace, name);

function adminClient(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testKubeconfig());
  return kc;
}

describe('ImageShare admission', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('crd-admission');
  });

  it('accepts a valid manifest and fills in the schema defaults', async () => {
    await applyYaml(manifest(ns, 'valid', { accounts: [ACCOUNT] }));
    const share = await getShare(ns, 'valid');
    expect(share.spec).toEqual({
      regionId: 'cn-hangzhou',
      imageId: IMAGE_ID,
      accounts: [ACCOUNT],
      sharePolicy: 'Authoritative',
      deletionPolicy: 'Retain',
      mode: 'Apply',
      suspend: false,
    });
    // community has no default: absent must stay absent, because absent means "never touch the flag".
    expect(share.spec).not.toHaveProperty('community');
    // resyncInterval's 10m default belongs to the operator, so the stored object says nothing about it.
    expect(share.spec).not.toHaveProperty('resyncInterval');
  });

  const accepted: { why: string; spec: Partial<ImageShareSpec> }[] = [
    { why: '50 accounts is the ECS per-image limit, so it must be allowed', spec: { accounts: accountIds(50) } },
    { why: 'publishing with no accounts is the one legal way to set community: true', spec: { community: true } },
    { why: 'community: false (unpublish) combines with sharing', spec: { community: false, accounts: [ACCOUNT] } },
    {
      why: 'an empty accounts list is not a share, so it is compatible with community: true',
      spec: { community: true, accounts: [] },
    },
    { why: '1m is the lower resync bound, inclusive', spec: { resyncInterval: '1m' } },
    { why: '24h is the upper resync bound, inclusive', spec: { resyncInterval: '24h' } },
    { why: 'compound Go durations are accepted', spec: { resyncInterval: '1h30m' } },
    {
      why: 'a Secret reference alone is a complete credentials block',
      spec: { credentials: { secretRef: { name: 'image-owner' } } },
    },
    {
      why: 'a role ARN alone is a complete credentials block',
      spec: { credentials: { roleArn: 'acs:ram::1234567890123456:role/image-sharer' } },
    },
    {
      why: 'every enum value is spelled as API.md documents it',
      spec: { sharePolicy: 'Additive', deletionPolicy: 'Revoke', mode: 'Plan', suspend: true },
    },
  ];
  it.each(accepted)('accepts: $why', async ({ spec }) => {
    const name = `ok-${Math.random().toString(36).slice(2, 8)}`;
    const { code, stderr } = await applyYaml(manifest(ns, name, spec), { allowFail: true });
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  const rejected: { why: string; spec: Record<string, unknown>; messages: string[] }[] = [
    {
      why: 'a region ID is lower-case words joined by dashes',
      spec: { regionId: 'CN_Hangzhou' },
      messages: [
        `spec.regionId: Invalid value: "CN_Hangzhou": spec.regionId in body should match '^[a-z]{2,}(-[a-z0-9]+)+$'`,
      ],
    },
    {
      why: 'an instance ID is a common mistake for an image ID',
      spec: { imageId: 'i-bp18ygjuqnwhechc1234' },
      messages: [
        `spec.imageId: Invalid value: "i-bp18ygjuqnwhechc1234": spec.imageId in body should match '^m-[a-z0-9]{8,40}$'`,
      ],
    },
    {
      why: 'account IDs are digits only',
      spec: { accounts: ['12345678901234ab'] },
      messages: [
        `spec.accounts[0]: Invalid value: "12345678901234ab": spec.accounts[0] in body should match '^[1-9][0-9]{0,19}$'`,
      ],
    },
    {
      why: 'a leading zero could never match the share list ECS reports',
      spec: { accounts: ['0123456789012345'] },
      messages: ['spec.accounts[0]: Invalid value: "0123456789012345"'],
    },
    {
      why: 'ECS shares an image with at most 50 accounts',
      spec: { accounts: accountIds(51) },
      messages: ['spec.accounts: Too many: 51: must have at most 50 items'],
    },
    {
      why: 'accounts is a set, so a repeated ID is a mistake',
      spec: { accounts: [ACCOUNT, ACCOUNT] },
      messages: [`spec.accounts[1]: Duplicate value: "${ACCOUNT}"`],
    },
    {
      why: 'a community image is visible to everyone in its region, so sharing it is meaningless and ECS refuses it',
      spec: { community: true, accounts: [ACCOUNT] },
      messages: [
        'spec.accounts: Forbidden: community: true cannot be combined with a non-empty accounts list',
        'a community image is already visible to every account in region cn-hangzhou',
        'Remove accounts, or set community to false',
      ],
    },
    {
      why: 'credentials name exactly one identity',
      spec: { credentials: { secretRef: { name: 'image-owner' }, roleArn: 'acs:ram::1234567890123456:role/x' } },
      messages: [
        'spec.credentials: Invalid value: credentials.secretRef and credentials.roleArn are mutually exclusive',
      ],
    },
    {
      why: 'an empty credentials block is ambiguous; omitting it selects the operator identity',
      spec: { credentials: {} },
      messages: [
        "credentials must set exactly one of secretRef or roleArn; omit credentials to use the operator's own identity",
      ],
    },
    {
      why: 'a role ARN has the form acs:ram::<account>:role/<name>',
      spec: { credentials: { roleArn: 'arn:aws:iam::123:role/x' } },
      messages: ['spec.credentials.roleArn: Invalid value: "arn:aws:iam::123:role/x"'],
    },
    {
      why: 'resyncing more often than every minute would burn the ECS API budget',
      spec: { resyncInterval: '30s' },
      messages: ['spec.resyncInterval: Invalid value: "30s": resyncInterval must be between 1m and 24h, got 30s'],
    },
    {
      why: 'drift older than a day is not a drift check',
      spec: { resyncInterval: '25h' },
      messages: ['resyncInterval must be between 1m and 24h, got 25h'],
    },
    {
      why: 'a resync interval is a Go duration',
      spec: { resyncInterval: 'hourly' },
      messages: ['spec.resyncInterval: Invalid value: "hourly": spec.resyncInterval in body should match'],
    },
    {
      why: 'enums are case-sensitive',
      spec: { sharePolicy: 'authoritative' },
      messages: ['spec.sharePolicy: Unsupported value: "authoritative": supported values: "Authoritative", "Additive"'],
    },
  ];
  it.each(rejected)('rejects: $why', async ({ spec, messages }) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const { code, stderr } = await applyYaml(manifest(ns, name, spec), { allowFail: true });
    expect(code).not.toBe(0);
    for (const message of messages) expect(stderr).toContain(message);
    const { stdout } = await kubectl(['get', 'imageshare', name, '-n', ns, '--ignore-not-found', '-o', 'name']);
    expect(stdout).toBe('');
  });

  it('keeps a malformed resyncInterval to the single pattern error (no CEL conversion error)', async () => {
    const { stderr } = await applyYaml(manifest(ns, 'bad-duration', { resyncInterval: 'hourly' }), { allowFail: true });
    expect(stderr).not.toContain('type conversion error');
  });

  it('makes regionId and imageId immutable but lets accounts change', async () => {
    await applyYaml(manifest(ns, 'immutable', { accounts: [ACCOUNT] }));
    const before = await getShare(ns, 'immutable');

    const image = await applyYaml(manifest(ns, 'immutable', { imageId: 'm-bp18ygjuqnwhechc9999' }), {
      allowFail: true,
    });
    expect(image.code).not.toBe(0);
    expect(image.stderr).toContain(
      'spec.imageId: Invalid value: "m-bp18ygjuqnwhechc9999": imageId is immutable: an ImageShare manages exactly one image',
    );
    const region = await applyYaml(manifest(ns, 'immutable', { regionId: 'cn-shanghai' }), { allowFail: true });
    expect(region.code).not.toBe(0);
    expect(region.stderr).toContain('spec.regionId: Invalid value: "cn-shanghai": regionId is immutable');

    await applyYaml(manifest(ns, 'immutable', { accounts: [ACCOUNT, '2234567890123456'] }));
    const after = await getShare(ns, 'immutable');
    expect(after.spec.imageId).toBe(IMAGE_ID);
    expect(after.spec.accounts).toEqual([ACCOUNT, '2234567890123456']);
    expect(after.metadata.generation).toBe((before.metadata.generation ?? 0) + 1);
  });
});

describe('ImageShare status subresource', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('crd-status');
  });

  const readyStatus = {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Synced',
        message: 'shared with 1 account',
        observedGeneration: 1,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
    community: false,
    sharedAccounts: [ACCOUNT],
    sharedAccountCount: 1,
    managedAccounts: [ACCOUNT],
    accounts: [{ id: ACCOUNT, state: 'Shared', sharedTime: '2026-01-01T00:00:00Z' }],
    plan: { grant: [], revoke: [] },
    image: { name: 'golden', status: 'Available', encrypted: false },
    lastSyncTime: '2026-01-01T00:00:00Z',
  };

  it('ignores status in a write to the main resource', async () => {
    await applyYaml(manifest(ns, 'spec-write', {}));
    const patch = JSON.stringify({ spec: { mode: 'Plan' }, status: { community: true } });
    await kubectl(['patch', 'imageshare', 'spec-write', '-n', ns, '--type=merge', '-p', patch]);
    const share = await getShare(ns, 'spec-write');
    expect(share.spec.mode).toBe('Plan');
    expect(share.status).toBeUndefined();
    expect(share.metadata.generation).toBe(2);
  });

  it('ignores spec in a write to /status, and a status write does not bump generation', async () => {
    await applyYaml(manifest(ns, 'status-write', {}));
    const patch = JSON.stringify({ spec: { mode: 'Plan' }, status: readyStatus });
    await kubectl([
      'patch',
      'imageshare',
      'status-write',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      patch,
    ]);
    const share = await getShare(ns, 'status-write');
    expect(share.spec.mode).toBe('Apply');
    expect(share.status).toEqual(readyStatus);
    expect(share.metadata.generation).toBe(1);
  });

  it('validates status against its schema too', async () => {
    await applyYaml(manifest(ns, 'status-schema', {}));
    const bad = {
      conditions: [
        { type: 'Ready', status: 'Maybe', reason: 'not a reason', message: '', lastTransitionTime: 'yesterday' },
      ],
      plan: { grant: [], revoke: [], community: 'Publicize' },
    };
    const result = await kubectl(
      [
        'patch',
        'imageshare',
        'status-schema',
        '-n',
        ns,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: bad }),
      ],
      { allowFail: true },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('status.conditions[0].status: Unsupported value: "Maybe"');
    expect(result.stderr).toContain('status.conditions[0].reason: Invalid value: "not a reason"');
    expect(result.stderr).toContain('status.conditions[0].lastTransitionTime: Invalid value: "yesterday"');
    expect(result.stderr).toContain('status.plan.community: Unsupported value: "Publicize"');
  });

  it('answers 409 Conflict to an update carrying a stale resourceVersion', async () => {
    await applyYaml(manifest(ns, 'conflict', {}));
    const api = adminClient().makeApiClient(CustomObjectsApi);
    const stale = await getShare(ns, 'conflict');
    await kubectl(['patch', 'imageshare', 'conflict', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    const body = { ...stale, spec: { ...stale.spec, mode: 'Plan' } };
    const attempt = api.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'conflict',
      body,
    });
    await expect(attempt).rejects.toBeInstanceOf(ApiException);
    await expect(attempt).rejects.toMatchObject({ code: 409 });
    expect((await getShare(ns, 'conflict')).spec.mode).toBe('Apply');
  });

  it('shows the printer columns under the short name and the alicloud category', async () => {
    await applyYaml(manifest(ns, 'columns', { accounts: [ACCOUNT] }));
    await kubectl([
      'patch',
      'imageshare',
      'columns',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: readyStatus }),
    ]);

    const { stdout } = await kubectl(['get', 'ishare', '-n', ns]);
    const [header = '', row = ''] = stdout.trim().split('\n');
    expect(header.trim().split(/\s+/)).toEqual([
      'NAME',
      'IMAGE',
      'REGION',
      'ACCOUNTS',
      'COMMUNITY',
      'READY',
      'REASON',
      'AGE',
    ]);
    expect(row.trim().split(/\s+/).slice(0, 7)).toEqual([
      'columns',
      IMAGE_ID,
      'cn-hangzhou',
      '1',
      'false',
      'True',
      'Synced',
    ]);

    const wide = await kubectl(['get', 'ishare', 'columns', '-n', ns, '-o', 'wide']);
    expect(wide.stdout).toMatch(/MODE\s+POLICY\s+MESSAGE/);
    expect(wide.stdout).toMatch(/Apply\s+Authoritative\s+shared with 1 account/);

    const category = await kubectl(['get', 'alicloud', '-n', ns, '-o', 'name']);
    expect(category.stdout.trim().split('\n')).toContain(`imageshare.${GROUP}/columns`);
  });

  it('teaches the API through kubectl explain', async () => {
    // The OpenAPI document is published asynchronously after the CRD is Established.
    const { stdout } = await eventually(async () => {
      const result = await kubectl(['explain', 'imageshare.spec.sharePolicy']);
      if (!result.stdout.includes('Authoritative (default)')) throw new Error(`not published yet:\n${result.stdout}`);
      return result;
    });
    expect(stdout).toContain('FIELD: sharePolicy <string>');
    expect(stdout).toMatch(/ENUM:\s+Authoritative\s+Additive/);
    expect(stdout).toContain('only accounts this object');
    const accounts = await kubectl(['explain', 'imageshare.spec.accounts']);
    expect(accounts.stdout.replace(/\s+/g, ' ')).toContain('a set of at most 50, the ECS limit per image');
  });
});

describe('ImageShare watch and finalizer', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('crd-lifecycle');
  });

  it('delivers a spec change to a watch', async () => {
    await applyYaml(manifest(ns, 'watched', {}));
    const events: { type: string; mode: string | undefined }[] = [];
    let notify = (): void => {};
    const seen = (predicate: (e: (typeof events)[number]) => boolean) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (events.some(predicate)) resolve();
        };
        notify = check;
        check();
      });
    const watch = new Watch(adminClient());
    const controller = await watch.watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`,
      { fieldSelector: 'metadata.name=watched' },
      (type: string, object: ImageShare) => {
        events.push({ type, mode: object.spec.mode });
        notify();
      },
      () => {},
    );
    try {
      await seen((e) => e.type === 'ADDED');
      await kubectl(['patch', 'imageshare', 'watched', '-n', ns, '--type=merge', '-p', '{"spec":{"mode":"Plan"}}']);
      await seen((e) => e.type === 'MODIFIED' && e.mode === 'Plan');
    } finally {
      controller.abort();
    }
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
  });

  it('keeps a deleted object until its finalizer is removed', async () => {
    await applyYaml(manifest(ns, 'finalized', {}, { finalizers: [FINALIZER] }));
    await kubectl(['delete', 'imageshare', 'finalized', '-n', ns, '--wait=false']);

    const deleting = await getShare(ns, 'finalized');
    expect(deleting.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect(deleting.metadata.finalizers).toEqual([FINALIZER]);

    await kubectl([
      'patch',
      'imageshare',
      'finalized',
      '-n',
      ns,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers/0"}]',
    ]);
    const gone = await kubectl(['get', 'imageshare', 'finalized', '-n', ns], { allowFail: true });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NotFound');
  });
});
