// The fleet planner's behaviour table (docs/adr/0027): discovered images + spec.keep + existing children → children
// to create, patch back and delete. Each row says why.
import { describe, expect, it } from '@jest/globals';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { childWrites } from '../../src/controllers/imageshareset/reconciler.ts';
import {
  type ChildView,
  childName,
  childrenToDelete,
  planChildren,
  type RegionListing,
  type SetView,
} from '../../src/fleet/plan.ts';
import type { ImageShareSetSpec } from '../../src/fleet/types.ts';
import type { DiscoveredImage } from '../../src/fleet/window.ts';

const UID = 'uid-set-1';
const A = '2000000000000001';
const B = '2000000000000002';

function image(id: string, day: number, over: Partial<DiscoveredImage> = {}): DiscoveredImage {
  return {
    imageId: id,
    name: `golden-${id}`,
    creationTime: `2026-01-${String(day).padStart(2, '0')}T00:00:00Z`,
    status: 'Available',
    family: 'golden',
    tags: { team: 'platform' },
    ownerAlias: 'self',
    ...over,
  };
}

function set(over: Partial<ImageShareSetSpec> = {}): SetView {
  return {
    name: 'golden',
    uid: UID,
    spec: {
      selector: { imageFamily: 'golden' },
      regions: ['cn-hangzhou', 'cn-beijing'],
      keep: { latest: 2 },
      accounts: [A],
      deletionPolicy: 'Revoke',
      ...over,
    },
  };
}

function child(regionId: string, imageId: string, over: Partial<ChildView> = {}, spec: Partial<ImageShareSpec> = {}) {
  const c: ChildView = {
    name: childName('golden', regionId, imageId),
    ownerUid: UID,
    labels: { 'ecs.alicloud.dev/imageshareset': 'golden', 'ecs.alicloud.dev/region': regionId },
    spec: { regionId, imageId, accounts: [A], deletionPolicy: 'Revoke', ...spec },
    deleting: false,
    // By default a child whose pass ran under Revoke and holds the cleanup finalizer: deleting it revokes.
    pass: { observed: true, holdsFinalizer: true, owesCleanup: true },
    ...over,
  };
  return c;
}

const ok = (...images: DiscoveredImage[]): RegionListing => ({ ok: true, images });
const listings = (hz: RegionListing, bj: RegionListing = ok()) =>
  new Map([
    ['cn-hangzhou', hz],
    ['cn-beijing', bj],
  ]);

interface Row {
  why: string;
  set?: SetView;
  listings: Map<string, RegionListing> | undefined;
  children?: ChildView[];
  create?: string[];
  remove?: string[];
  waiting?: string[];
  update?: Record<string, unknown>;
  taken?: string[];
  stop?: string;
}

const rows: Row[] = [
  {
    why: 'a new set with three builds and keep latest 2 creates children for the two newest only',
    listings: listings(ok(image('m-old00001', 1), image('m-new00003', 3), image('m-mid00002', 2))),
    create: ['golden-cn-hangzhou-m-new00003', 'golden-cn-hangzhou-m-mid00002'],
  },
  {
    why: 'a build in each of two regions gives one child per (region, image)',
    listings: listings(ok(image('m-hz000001', 1)), ok(image('m-bj000001', 1))),
    create: ['golden-cn-hangzhou-m-hz000001', 'golden-cn-beijing-m-bj000001'],
  },
  {
    why: 'a newer build pushes the oldest kept one out of the window: its child is deleted (its deletionPolicy revokes)',
    listings: listings(ok(image('m-a0000001', 1), image('m-b0000002', 2), image('m-c0000003', 3))),
    children: [child('cn-hangzhou', 'm-a0000001'), child('cn-hangzhou', 'm-b0000002')],
    create: ['golden-cn-hangzhou-m-c0000003'],
    remove: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'one edit to Revoke that also moves a build out: the leaving child first gets Revoke (that field only), not deleted yet (finding S1)',
    set: set({ accounts: [B] }),
    listings: listings(ok(image('m-b0000002', 2), image('m-c0000003', 3))),
    children: [
      child(
        'cn-hangzhou',
        'm-a0000001',
        { pass: { observed: true, holdsFinalizer: false, owesCleanup: true } },
        { deletionPolicy: 'Retain' },
      ),
      child('cn-hangzhou', 'm-b0000002', {}, { accounts: [B] }),
      child('cn-hangzhou', 'm-c0000003', {}, { accounts: [B] }),
    ],
    waiting: ['golden-cn-hangzhou-m-a0000001'],
    update: { 'golden-cn-hangzhou-m-a0000001': { spec: { deletionPolicy: 'Revoke' } } },
  },
  {
    why: 'a leaving child that has Revoke but no pass of it has seen that generation yet waits for one',
    listings: listings(ok(image('m-b0000002', 2))),
    children: [
      child('cn-hangzhou', 'm-a0000001', { pass: { observed: false, holdsFinalizer: false, owesCleanup: true } }),
      child('cn-hangzhou', 'm-b0000002'),
    ],
    waiting: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'a leaving child whose pass saw Revoke and owes no cleanup (it never granted) goes without a finalizer',
    listings: listings(ok(image('m-b0000002', 2))),
    children: [
      child('cn-hangzhou', 'm-a0000001', { pass: { observed: true, holdsFinalizer: false, owesCleanup: false } }),
      child('cn-hangzhou', 'm-b0000002'),
    ],
    remove: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'a leaving child that owes cleanup but holds no finalizer yet waits: deleting it now would leave its grants',
    listings: listings(ok(image('m-b0000002', 2))),
    children: [
      child('cn-hangzhou', 'm-a0000001', { pass: { observed: true, holdsFinalizer: false, owesCleanup: true } }),
      child('cn-hangzhou', 'm-b0000002'),
    ],
    waiting: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'under Retain a leaving child is deleted at once, whatever it holds: nothing is to be revoked',
    set: set({ deletionPolicy: 'Retain' }),
    listings: listings(ok(image('m-b0000002', 2))),
    children: [
      child(
        'cn-hangzhou',
        'm-a0000001',
        { pass: { observed: false, holdsFinalizer: false, owesCleanup: true } },
        { deletionPolicy: 'Retain' },
      ),
      child('cn-hangzhou', 'm-b0000002', {}, { deletionPolicy: 'Retain' }),
    ],
    remove: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'a build still Creating waits: it neither gets a child nor pushes an older build out',
    listings: listings(
      ok(image('m-a0000001', 1), image('m-b0000002', 2), image('m-c0000003', 3, { status: 'Creating' })),
    ),
    children: [child('cn-hangzhou', 'm-a0000001'), child('cn-hangzhou', 'm-b0000002')],
  },
  {
    why: 'a deprecated (or deleted) build is not listed as Available any more, so its child is deleted',
    listings: listings(ok(image('m-b0000002', 2))),
    children: [child('cn-hangzhou', 'm-a0000001'), child('cn-hangzhou', 'm-b0000002')],
    remove: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'a region whose listing failed keeps its children: only a complete listing may shrink a region',
    listings: listings({ ok: false, error: 'Throttled', terminal: false }),
    children: [child('cn-hangzhou', 'm-a0000001')],
  },
  {
    why: 'a region removed from spec.regions loses its children',
    set: set({ regions: ['cn-beijing'] }),
    listings: new Map([['cn-beijing', ok()]]),
    children: [child('cn-hangzhou', 'm-a0000001')],
    remove: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'the server filter is not trusted: an image of another family, another owner or without the tags is skipped',
    set: set({ selector: { imageFamily: 'golden', tags: { team: 'platform' } } }),
    listings: listings(
      ok(
        image('m-fam00001', 5, { family: 'other' }),
        image('m-own00001', 5, { ownerAlias: 'others' }),
        image('m-tag00001', 5, { tags: {} }),
        image('m-good0001', 1),
      ),
    ),
    create: ['golden-cn-hangzhou-m-good0001'],
  },
  {
    why: 'a name prefix selects by the start of the name, not a substring',
    set: set({ selector: { namePrefix: 'golden-m-x' } }),
    listings: listings(ok(image('m-x0000001', 1), image('m-y0000001', 2, { name: 'xx-golden-m-x' }))),
    create: ['golden-cn-hangzhou-m-x0000001'],
  },
  {
    why: 'keep all keeps every matching build',
    set: set({ keep: { all: true } }),
    listings: listings(ok(image('m-a0000001', 1), image('m-b0000002', 2), image('m-c0000003', 3))),
    create: ['golden-cn-hangzhou-m-c0000003', 'golden-cn-hangzhou-m-b0000002', 'golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'builds with one creation time are ordered by image ID, so every pass picks the same window',
    set: set({ keep: { latest: 1 } }),
    listings: listings(ok(image('m-b0000001', 1), image('m-a0000001', 1))),
    create: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: 'a child edited by hand (an extra account, Retain) is set back to the template with a merge patch',
    listings: listings(ok(image('m-a0000001', 1))),
    children: [child('cn-hangzhou', 'm-a0000001', {}, { accounts: [A, B], deletionPolicy: 'Retain' })],
    update: { 'golden-cn-hangzhou-m-a0000001': { spec: { accounts: [A], deletionPolicy: 'Revoke' } } },
  },
  {
    why: 'a field the template leaves out but a hand edit added (community) is removed with null',
    listings: listings(ok(image('m-a0000001', 1))),
    children: [child('cn-hangzhou', 'm-a0000001', {}, { community: false })],
    update: { 'golden-cn-hangzhou-m-a0000001': { spec: { community: null } } },
  },
  {
    why: 'an expiring account added to a child by hand is drift like any other account: removed with null',
    listings: listings(ok(image('m-a0000001', 1))),
    children: [
      child('cn-hangzhou', 'm-a0000001', {}, { expiringAccounts: [{ id: B, expiresAt: '2099-01-01T00:00:00Z' }] }),
    ],
    update: { 'golden-cn-hangzhou-m-a0000001': { spec: { expiringAccounts: null } } },
  },
  {
    why: "the template's expiring accounts reach an existing child; their order is not drift",
    set: set({
      expiringAccounts: [
        { id: B, expiresAt: '2099-01-01T00:00:00Z' },
        { id: '2000000000000003', expiresAt: '2099-01-02T00:00:00Z' },
      ],
    }),
    listings: listings(ok(image('m-a0000001', 1), image('m-b0000002', 2))),
    children: [
      child('cn-hangzhou', 'm-a0000001'),
      child(
        'cn-hangzhou',
        'm-b0000002',
        {},
        {
          expiringAccounts: [
            { id: '2000000000000003', expiresAt: '2099-01-02T00:00:00Z' },
            { id: B, expiresAt: '2099-01-01T00:00:00Z' },
          ],
        },
      ),
    ],
    update: {
      'golden-cn-hangzhou-m-a0000001': {
        spec: {
          expiringAccounts: [
            { id: B, expiresAt: '2099-01-01T00:00:00Z' },
            { id: '2000000000000003', expiresAt: '2099-01-02T00:00:00Z' },
          ],
        },
      },
    },
  },
  {
    why: "the apiserver's defaults and account order are not drift",
    listings: listings(ok(image('m-a0000001', 1))),
    set: set({ accounts: [B, A] }),
    children: [
      child(
        'cn-hangzhou',
        'm-a0000001',
        {},
        { accounts: [A, B], sharePolicy: 'Authoritative', mode: 'Apply', suspend: false },
      ),
    ],
  },
  {
    why: 'labels removed by hand are put back, so `kubectl get -l` keeps finding the children',
    listings: listings(ok(image('m-a0000001', 1))),
    children: [child('cn-hangzhou', 'm-a0000001', { labels: {} })],
    update: {
      'golden-cn-hangzhou-m-a0000001': {
        metadata: { labels: { 'ecs.alicloud.dev/imageshareset': 'golden', 'ecs.alicloud.dev/region': 'cn-hangzhou' } },
      },
    },
  },
  {
    why: 'a name the set needs held by an ImageShare it does not own is reported, never adopted or deleted',
    listings: listings(ok(image('m-a0000001', 1))),
    children: [child('cn-hangzhou', 'm-a0000001', { ownerUid: undefined }, { accounts: [B] })],
    taken: ['golden-cn-hangzhou-m-a0000001'],
  },
  {
    why: "a child of an earlier set of the same name (another uid) is not this set's to delete",
    listings: listings(ok()),
    children: [child('cn-hangzhou', 'm-a0000001', { ownerUid: 'uid-old' })],
  },
  {
    why: 'a child already being deleted is neither deleted again nor patched',
    listings: listings(ok()),
    children: [child('cn-hangzhou', 'm-a0000001', { deleting: true }, { deletionPolicy: 'Retain' })],
  },
  {
    why: 'a window larger than maxChildren stops: nothing created or deleted, but existing children still follow the template',
    set: set({ maxChildren: 2, keep: { all: true }, accounts: [B] }),
    listings: listings(ok(image('m-a0000001', 1), image('m-b0000002', 2), image('m-c0000003', 3))),
    children: [child('cn-beijing', 'm-old00001')],
    update: { 'golden-cn-beijing-m-old00001': { spec: { accounts: [B] } } },
    stop: 'TooManyChildren',
  },
  {
    why: 'a suspended set discovers nothing; children only follow the template (which now says suspend)',
    set: set({ suspend: true }),
    listings: undefined,
    children: [child('cn-hangzhou', 'm-a0000001')],
    update: { 'golden-cn-hangzhou-m-a0000001': { spec: { suspend: true } } },
  },
];

describe('planChildren', () => {
  it.each(rows)('$why', (row) => {
    const plan = planChildren(row.set ?? set(), row.listings, row.children ?? []);
    expect(plan.create.map((c) => c.name)).toEqual(row.create ?? []);
    expect(plan.remove).toEqual(row.remove ?? []);
    expect(plan.waiting).toEqual(row.waiting ?? []);
    expect(Object.fromEntries(plan.update.map((u) => [u.name, u.patch]))).toEqual(row.update ?? {});
    expect(plan.taken).toEqual(row.taken ?? []);
    expect(plan.stop?.reason).toBe(row.stop);
  });

  it('a created child carries the template, its (region, image), and the set labels', () => {
    const plan = planChildren(
      set({ credentials: { secretRef: { name: 'owner' } }, resyncInterval: '5m', sharePolicy: 'Additive' }),
      listings(ok(image('m-a0000001', 1))),
      [],
    );
    expect(plan.create).toEqual([
      {
        name: 'golden-cn-hangzhou-m-a0000001',
        regionId: 'cn-hangzhou',
        imageId: 'm-a0000001',
        labels: { 'ecs.alicloud.dev/imageshareset': 'golden', 'ecs.alicloud.dev/region': 'cn-hangzhou' },
        spec: {
          regionId: 'cn-hangzhou',
          imageId: 'm-a0000001',
          accounts: [A],
          deletionPolicy: 'Revoke',
          sharePolicy: 'Additive',
          credentials: { secretRef: { name: 'owner' } },
          resyncInterval: '5m',
        },
      },
    ]);
  });

  it('reports per region the newest match, its creation time and the counts', () => {
    const plan = planChildren(
      set(),
      listings(ok(image('m-a0000001', 1), image('m-b0000002', 2), image('m-c0000003', 3))),
      [],
    );
    expect(plan.regions).toEqual([
      {
        regionId: 'cn-hangzhou',
        newestImageId: 'm-c0000003',
        newestImageName: 'golden-m-c0000003',
        newestCreationTime: '2026-01-03T00:00:00Z',
        matched: 3,
        kept: 2,
      },
      { regionId: 'cn-beijing', matched: 0, kept: 0 },
    ]);
  });

  it('the same inputs in another order give the same plan (a crash and a replay agree on the names)', () => {
    const images = [image('m-a0000001', 1), image('m-b0000002', 2), image('m-c0000003', 3)];
    const one = planChildren(set(), listings(ok(...images)), []);
    const two = planChildren(set(), listings(ok(...[...images].reverse(), images[0] as DiscoveredImage)), []);
    expect(two.create).toEqual(one.create);
  });
});

describe('childrenToDelete', () => {
  it('deletes every owned child that is not already going, and nothing it does not own', () => {
    const children = [
      child('cn-hangzhou', 'm-a0000001'),
      child('cn-hangzhou', 'm-b0000002', { deleting: true }),
      child('cn-beijing', 'm-c0000003', { ownerUid: 'someone-else' }),
    ];
    expect(childrenToDelete({ uid: UID, spec: set().spec }, children)).toEqual({
      remove: ['golden-cn-hangzhou-m-a0000001'],
      update: [],
      waiting: [],
    });
  });

  it('a set deleted under Revoke first gives Retain children Revoke and deletes them after a pass saw it (S1)', () => {
    const stale = { pass: { observed: true, holdsFinalizer: false, owesCleanup: true } };
    const children = [
      child('cn-hangzhou', 'm-a0000001', stale, { deletionPolicy: 'Retain' }),
      child('cn-hangzhou', 'm-b0000002', stale, { suspend: true }),
    ];
    expect(childrenToDelete({ uid: UID, spec: set().spec }, children)).toEqual({
      remove: ['golden-cn-hangzhou-m-b0000002'],
      update: [{ name: 'golden-cn-hangzhou-m-a0000001', patch: { spec: { deletionPolicy: 'Revoke' } } }],
      waiting: ['golden-cn-hangzhou-m-a0000001'],
    });
  });
});

// A set comes back within a second after child writes; a child waiting for its Revoke pass is not one (87ae34e): a
// child that never takes the finalizer (denied by policy) would otherwise make the set poll every second for ever.
describe('childWrites (the set reconciler: what brings the set back soon)', () => {
  const none = { create: [], update: [], remove: [], waiting: [] };
  const rows: Array<{ why: string; plan: Parameters<typeof childWrites>[0]; writes: number }> = [
    { why: 'nothing to do', plan: none, writes: 0 },
    { why: 'only a child waiting for its Revoke pass: no write', plan: { ...none, waiting: ['c-1'] }, writes: 0 },
    { why: 'a removal is a write', plan: { ...none, remove: ['c-1'], waiting: ['c-2'] }, writes: 1 },
    {
      why: 'creates, updates and removals all count',
      plan: {
        ...none,
        create: [{} as Parameters<typeof childWrites>[0]['create'][number]],
        update: [{} as Parameters<typeof childWrites>[0]['update'][number]],
        remove: ['c-1'],
      },
      writes: 3,
    },
  ];
  it.each(rows)('$why', ({ plan, writes }) => expect(childWrites(plan)).toBe(writes));
});
