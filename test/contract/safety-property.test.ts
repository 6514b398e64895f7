// The API.md safety invariant as a property: random specs, random out-of-band changes, random spec edits and
// random injected faults, run through the real reconcile pass with the real ECS adapter and SDK against the
// emulator (only the Kubernetes side is the in-memory store). After every step the emulator's call log must show
// nothing the spec did not ask for; once the faults stop, the cloud must converge to the spec.
// Runs: PROPERTY_RUNS (default 1000, the CI figure); a failure prints fast-check's seed and path to replay it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { type ReconcileDeps, reconcile } from '../../src/reconcile/reconcile.ts';
import type { CallRecord } from '../emulator/server.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import type { SeedInput } from '../emulator/seed.ts';
import { FakeStore } from '../support/fake-store.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);
const OWNER = '1000000000000001';
const KEY = { accessKeyId: 'LTAItestProperty001', accessKeySecret: 'test-only-property-secret' };
const IMAGE = 'm-property0001';
const REGION = 'cn-hangzhou';
const KNOWN = Array.from({ length: 12 }, (_, i) => String(2000000000000001 + i));
const UNKNOWN = '2999999999999999';
const OTHER_SITE = '3000000000000001';
const POOL = [...KNOWN, UNKNOWN, OTHER_SITE];

const seed = (initial: string[], community: boolean): SeedInput => ({
  owners: [{ id: OWNER, site: 'international', agreementSigned: true, keys: [KEY] }],
  accounts: [...KNOWN.map((id) => ({ id, site: 'international' as const })), { id: OTHER_SITE, site: 'china' as const }],
  regions: [{ id: REGION, community: true }],
  images: [{ id: IMAGE, region: REGION, owner: OWNER, name: 'golden', community, sharedWith: initial }],
});

// ---- generators ----
const specArb = fc
  .record({
    accounts: fc.subarray(POOL, { maxLength: 8 }),
    community: fc.constantFrom(undefined, false, true),
    sharePolicy: fc.constantFrom('Authoritative' as const, 'Additive' as const),
  })
  .map((s): ImageShareSpec => {
    // The CRD's CEL rule rejects community: true with accounts; such a spec never reaches the operator.
    const accounts = s.community === true ? [] : s.accounts;
    return { regionId: REGION, imageId: IMAGE, accounts, sharePolicy: s.sharePolicy, ...(s.community === undefined ? {} : { community: s.community }) };
  });
const faultArb = fc.oneof(
  fc.record({
    type: fc.constant('error' as const),
    code: fc.constantFrom('ServiceUnavailable', 'InternalError', 'Throttling.User', 'QuotaExceed.ShareImage', 'Forbidden.RAM', 'SignatureNonceUsed'),
    action: fc.constantFrom('DescribeImages', 'DescribeImageSharePermission', 'ModifyImageSharePermission'),
    times: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ type: fc.constantFrom('html502' as const, 'reset' as const), action: fc.constantFrom('DescribeImageSharePermission', 'ModifyImageSharePermission'), times: fc.integer({ min: 1, max: 2 }) }),
);
type Step =
  | { kind: 'reconcile' }
  | { kind: 'outOfBand'; add: string[]; remove: string[]; community?: boolean | undefined }
  | { kind: 'fault'; fault: Record<string, unknown> }
  | { kind: 'edit'; spec: ImageShareSpec };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'reconcile' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('outOfBand' as const), add: fc.subarray(KNOWN, { maxLength: 3 }), remove: fc.subarray(KNOWN, { maxLength: 3 }), community: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['kind', 'add', 'remove'] }) },
  { weight: 2, arbitrary: faultArb.map((fault) => ({ kind: 'fault' as const, fault })) },
  { weight: 1, arbitrary: specArb.map((spec) => ({ kind: 'edit' as const, spec })) },
);
const scenarioArb = fc.record({
  spec: specArb,
  initial: fc.subarray(KNOWN, { maxLength: 5 }),
  initialCommunity: fc.boolean(),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
});

// ---- the invariant over what the emulator recorded ----
const RANK = { unpublish: 0, revoke: 1, grant: 2, publish: 3 } as const;
const list = (c: CallRecord, prefix: string) => Object.entries(c.params).filter(([k]) => k.startsWith(`${prefix}.`)).map(([, v]) => String(v));
function kindOf(c: CallRecord): keyof typeof RANK {
  if (c.params.IsPublic !== undefined) return String(c.params.IsPublic) === 'true' ? 'publish' : 'unpublish';
  return list(c, 'AddAccount').length ? 'grant' : 'revoke';
}

/** Checks the writes of one reconcile pass against the spec it ran with. Throws with the offending call. */
function assertWritesSafe(writes: CallRecord[], spec: ImageShareSpec, granted: Set<string>): void {
  const wanted = new Set(spec.accounts ?? []);
  let last = -1;
  for (const c of writes) {
    const adds = list(c, 'AddAccount');
    const removes = list(c, 'RemoveAccount');
    const kind = kindOf(c);
    const where = `call #${c.seq} ${JSON.stringify(c.params)} with spec ${JSON.stringify(spec)}`;
    if (adds.length > 10 || removes.length > 10) throw new Error(`more than 10 accounts in ${where}`);
    if (c.params.IsPublic !== undefined && adds.length + removes.length > 0) throw new Error(`IsPublic mixed with accounts in ${where}`);
    for (const id of adds) if (!wanted.has(id)) throw new Error(`granted ${id}, not in spec, in ${where}`);
    if (kind === 'publish' && spec.community !== true) throw new Error(`published without community: true in ${where}`);
    if (spec.sharePolicy === 'Additive') for (const id of removes) if (!granted.has(id)) throw new Error(`Additive revoke of ${id} it never granted, in ${where}`);
    if (RANK[kind] < last) throw new Error(`least-exposure order broken by ${where}`);
    last = RANK[kind];
    if (c.code === 'OK') for (const id of adds) granted.add(id);
  }
}

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ seed: seed([], false) });
});
afterAll(async () => {
  await emu?.close();
});

describe('safety invariant under random specs, drift and faults', () => {
  it(`holds for ${RUNS} random scenarios, and the cloud converges once faults stop`, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => {
        runs++;
        await emu.admin.reset(seed(sc.initial, sc.initialCommunity));
        const store = new FakeStore();
        const cloud = createEcsImageSharingFactory({
          endpoint: emu.endpoint, protocol: 'http', timeoutMs: 2000, qps: 10_000, burst: 10_000, maxAttempts: 2,
          sleep: async () => undefined, random: () => 0.5,
        });
        const deps: ReconcileDeps = {
          store, cloud, emit: () => undefined, now: () => new Date('2026-11-28T00:00:00Z'), random: () => 0, defaultResyncMs: 600_000,
          readSecretCredentials: async () => ({ ok: false, message: 'unused' }),
        };
        const useDefault = cloud.forCredentials({ type: 'static', ...KEY });
        deps.cloud = { forCredentials: () => useDefault };
        let spec = sc.spec;
        store.create('share', spec);
        const granted = new Set<string>();
        let seen = 0;
        const pass = async () => {
          await reconcile('default', 'share', deps);
          const calls = (await emu.admin.calls()).calls;
          const fresh = calls.slice(seen).filter((c) => c.action === 'ModifyImageSharePermission');
          seen = calls.length;
          assertWritesSafe(fresh, spec, granted);
        };
        for (const step of sc.steps) {
          if (step.kind === 'reconcile') await pass();
          else if (step.kind === 'outOfBand') {
            await emu.admin.share(REGION, IMAGE, { add: step.add, remove: step.remove });
            if (step.community !== undefined) await emu.admin.patchImage(REGION, IMAGE, { community: step.community });
            seen = (await emu.admin.calls()).calls.length;
          } else if (step.kind === 'fault') await emu.admin.addFault(step.fault as never);
          else {
            spec = step.spec;
            store.replaceSpec('share', spec);
          }
        }
        await emu.admin.clearFaults();
        for (let i = 0; i < 4; i++) await pass();
        await assertConverged(store, spec);
      }),
      { numRuns: RUNS, verbose: 1 },
    );
    expect(runs).toBe(RUNS);
  }, 1_800_000);
});

/** Once faults stop, the cloud equals the spec (Authoritative) or contains it (Additive), minus impossible accounts. */
async function assertConverged(store: FakeStore, spec: ImageShareSpec): Promise<void> {
  const img = await emu.admin.image(REGION, IMAGE);
  const shared = new Set(img.sharedWith.map((s) => s.id));
  const ready = store.must('default', 'share').status?.conditions?.find((c) => c.type === 'Ready');
  const possible = (spec.accounts ?? []).filter((id) => KNOWN.includes(id));
  // Grants to a community image the spec does not unpublish are refused up front (ImageIsCommunity).
  const blocked = img.community && spec.community === undefined && (spec.accounts ?? []).some((id) => !shared.has(id));
  if (blocked) {
    expect(ready?.reason).toBe('ImageIsCommunity');
    return;
  }
  for (const id of possible) expect(shared).toContain(id);
  if (spec.sharePolicy === 'Authoritative') expect([...shared].sort()).toEqual([...possible].sort());
  if (spec.community !== undefined) expect(img.community).toBe(spec.community);
  const impossible = (spec.accounts ?? []).some((id) => !KNOWN.includes(id));
  expect(ready?.reason).toBe(impossible ? 'AccountsFailed' : 'Synced');
}
