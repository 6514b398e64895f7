// Seed validation for the ECS emulator: defaults are filled, every problem is reported with its path, and the
// sample world used by the demo is valid.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadSeedFile, normalizeSeed, parseSeedText, SeedError } from '../emulator/seed.ts';

const minimal = {
  owners: [{ id: '1000000000000001', keys: [{ accessKeyId: 'LTAItestUnit0001', accessKeySecret: 'fake' }] }],
  accounts: [{ id: '2000000000000001' }],
  regions: [{ id: 'cn-hangzhou' }],
  images: [{ id: 'm-unit', region: 'cn-hangzhou', owner: '1000000000000001', sharedWith: ['2000000000000001'] }],
};

function problems(input: unknown): string[] {
  try {
    normalizeSeed(input);
  } catch (err: unknown) {
    if (err instanceof SeedError) return err.problems;
    throw err;
  }
  return [];
}

describe('normalizeSeed', () => {
  it('fills every default', () => {
    const s = normalizeSeed(minimal);
    expect(s.options).toEqual({
      maxAccountsPerImage: 50,
      listOverflow: 'truncate',
      unpublishNonCommunity: 'error',
      imageNotFoundStatus: 404,
      crossSiteSharing: false,
      timestampSkewSeconds: 900,
      clockOffsetMs: 0,
      readLagMs: 0,
    });
    expect(s.owners[0]).toMatchObject({
      site: 'international',
      agreementSigned: false,
      shareEncryptedRole: false,
      launchPermissionPreview: false,
      shareImageQuota: 100,
    });
    expect(s.regions[0]?.community).toBe(true);
    expect(s.images[0]).toMatchObject({
      name: 'm-unit',
      description: '',
      status: 'Available',
      encryption: 'none',
      snapshots: 1,
      kms: 'ok',
      community: false,
      progress: '100%',
      sharedWith: [{ id: '2000000000000001', sharedTime: '2025-01-01T00:00:00Z' }],
    });
  });

  it('is idempotent on an already normalised seed', () => {
    const once = normalizeSeed(minimal);
    expect(normalizeSeed(once)).toEqual(once);
  });

  it.each([
    [
      'an image whose owner is not an owner',
      { images: [{ ...minimal.images[0], owner: '1000000000000009' }] },
      'owner 1000000000000009 not found',
    ],
    ['a bad image status', { images: [{ ...minimal.images[0], status: 'Broken' }] }, 'status: must be one of'],
    [
      'an unknown region on an image',
      { images: [{ ...minimal.images[0], region: 'cn-beijing' }] },
      'region cn-beijing not found',
    ],
    [
      'a share with an unknown account',
      { images: [{ ...minimal.images[0], sharedWith: ['2999999999999999'] }] },
      'not a known account',
    ],
    [
      'a real-looking key ID',
      { owners: [{ ...minimal.owners[0], keys: [{ accessKeyId: 'LTAI5tAbCdEf', accessKeySecret: 'x' }] }] },
      'must start with LTAItest or STS.test',
    ],
    ['an account ID written as a YAML number', { accounts: [{ id: 2000000000000001 }] }, 'quoted strings'],
    [
      'an unknown option (a typo must not silently keep a default)',
      { options: { maxAccountPerImage: 3 } },
      'unknown option',
    ],
    ['an out-of-range not-found status', { options: { imageNotFoundStatus: 500 } }, 'must be 404 or 403'],
    [
      'expired on a key without an STS token',
      { owners: [{ ...minimal.owners[0], keys: [{ accessKeyId: 'LTAItestX', accessKeySecret: 'x', expired: true }] }] },
      'only an STS key',
    ],
  ])('reports %s', (_why, patch, fragment) => {
    const found = problems({ ...minimal, ...patch });
    expect(found.join('\n')).toContain(fragment);
  });

  it('reports every problem at once, each with its path', () => {
    const found = problems({ owners: [{ id: 'x' }], images: [{ id: 'bad', region: 'r', owner: 'y', status: 'Nope' }] });
    expect(found.length).toBeGreaterThanOrEqual(4);
    expect(found.some((p) => p.startsWith('owners[0].id'))).toBe(true);
    expect(found.some((p) => p.startsWith('images[0].id'))).toBe(true);
  });

  it('parses YAML and reports syntax errors as SeedError', () => {
    expect(parseSeedText('regions: [{ id: cn-hangzhou }]').regions).toEqual([{ id: 'cn-hangzhou', community: true }]);
    expect(() => parseSeedText('regions: [')).toThrow(SeedError);
  });
});

describe('sample-world.yaml', () => {
  it('is valid and has the shape the demo relies on', async () => {
    const s = await loadSeedFile(fileURLToPath(new URL('../emulator/sample-world.yaml', import.meta.url)));
    expect(s.owners).toHaveLength(1);
    expect(s.accounts.length).toBeGreaterThanOrEqual(55);
    expect(s.accounts.filter((a) => a.site !== s.owners[0]?.site)).toHaveLength(1);
    expect(s.regions.map((r) => r.community).sort()).toEqual([false, true]);
    const kinds = new Set(s.images.map((i) => (i.encryption !== 'none' ? i.encryption : i.status)));
    for (const k of ['Available', 'cmk', 'service-key', 'Deprecated', 'Creating']) expect(kinds).toContain(k);
    expect(s.images.some((i) => s.sensitiveWords.some((w) => i.name.includes(w)))).toBe(true);
  });
});
