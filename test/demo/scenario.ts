// What the demo expects of the sample world (test/emulator/sample-world.yaml) and the examples/ that match it: the
// objects with a part to play, and the Ready reason each example must end with. Keep in step with examples/.

export const DEFAULT_NAMESPACE = 'platform-images';

/** Authoritative, several accounts: the drift step shares it out of band and watches the revert. */
export const GOLDEN = {
  name: 'golden-ubuntu-2404',
  regionId: 'cn-hangzhou',
  imageId: 'm-bp18ygjuqnwhechc1234',
} as const;

/** Published as a community image once ECS finishes building it (the image starts as Creating). */
export const COMMUNITY = {
  name: 'ubuntu-2404-next-community',
  regionId: 'cn-hangzhou',
  imageId: 'm-bp1creating00000001',
} as const;

/** Ends Stalled: its image is Deprecated in the sample world. */
export const FAILING = { name: 'golden-ubuntu-2204', reason: 'ImageDeprecated' } as const;

/** mode: Plan, so status.plan shows what Apply would do. */
export const PLAN = { name: 'golden-ubuntu-2404-eu' } as const;

/** The account the drift step shares the golden image with behind the operator's back. */
export const DRIFT_ACCOUNT = '2000000000000050';

/** The Ready reason each example ImageShare settles on; objects not listed only have to settle. */
export const EXPECTED_REASONS: Readonly<Record<string, string>> = {
  [GOLDEN.name]: 'Synced',
  'ubuntu-cmk-team-shares': 'Synced',
  [COMMUNITY.name]: 'Synced',
  'partner-event-image': 'Synced',
  [PLAN.name]: 'PlanPending',
  [FAILING.name]: FAILING.reason,
};

/** The reason the community object shows while its image is still being built. */
export const IMAGE_BUILDING_REASON = 'ImageNotAvailable';

/**
 * The fleet step: examples/fleet/golden-pipeline.yaml keeps the two newest builds of the family per region. The sample
 * world holds two builds in cn-hangzhou and one in eu-central-1; the pipeline then finishes a third in cn-hangzhou,
 * which pushes the oldest out of the window (its child is deleted and, with deletionPolicy Revoke, it is unshared).
 */
export const FLEET = {
  file: 'fleet/golden-pipeline.yaml',
  name: 'golden-ubuntu-2404',
  regionId: 'cn-hangzhou',
  oldest: 'm-bp1golden2404b00001',
  kept: 'm-bp1golden2404b00002',
  other: { regionId: 'eu-central-1', imageId: 'm-gw8golden2404b00001' },
  newBuild: {
    id: 'm-bp1golden2404b00003',
    name: 'golden-ubuntu-2404-20251201',
    family: 'golden-ubuntu-2404',
    tags: { pipeline: 'golden' },
    creationTime: '2025-12-01T02:00:00Z',
  },
} as const;
