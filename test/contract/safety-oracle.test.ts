// The safety oracle's one excuse (ADR 0007's accepted ambiguity), pinned on the real pass: someone else shares the
// account an object is about to grant, at each await of its first pass in turn; the object is then deleted under
// deletionPolicy Revoke. The oracle excuses the cleanup's revoke only when the share came after the read the pass
// planned from and before its grant landed; a share the read showed is never excused (the pass does not adopt it).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { IMAGE, KEY, KNOWN, OWNER, REGION, SafetyWorld } from './safety-world.ts';

let offsetMs = 0;
/** Set: the clock stands still (it moves only by offsetMs), so "the same second" is exact. */
let frozenAt: number | undefined;
const clock = () => (frozenAt ?? Date.now()) + offsetMs;
const ACCOUNT = KNOWN[4] as string;
const seed = {
  options: { timestampSkewSeconds: 30 * 24 * 3600 },
  owners: [{ id: OWNER, site: 'international' as const, agreementSigned: true, keys: [KEY] }],
  accounts: KNOWN.map((id) => ({ id, site: 'international' as const })),
  regions: [{ id: REGION, community: true }],
  images: [{ id: IMAGE, region: REGION, owner: OWNER, name: 'golden', community: false, sharedWith: [] }],
};
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ seed, clock });
});
afterAll(async () => emu?.close());

/** A world on a reset emulator with one object (slot 0) for ACCOUNT under deletionPolicy Revoke. */
async function oneObjectWorld(sharePolicy: 'Authoritative' | 'Additive'): Promise<SafetyWorld> {
  await emu.admin.reset(seed);
  const w = new SafetyWorld(emu, clock);
  w.advance = (ms) => {
    offsetMs += ms;
  };
  await w.start([
    { slot: 0, spec: { regionId: REGION, imageId: IMAGE, accounts: [ACCOUNT], sharePolicy, deletionPolicy: 'Revoke' } },
  ]);
  return w;
}

/** Deletes the object, lets the runtime clean up, and checks what ECS holds. */
async function deleteAndCheck(w: SafetyWorld): Promise<void> {
  await w.act({ kind: 'delete', slot: 0 });
  await w.runRuntime(60_000, 20);
  await w.checkCloud('after deletion');
  await w.shutdown();
}

async function foreignShareAt(at: number): Promise<{ violations: string[]; stats: Record<string, number> }> {
  const w = await oneObjectWorld('Authoritative');
  const share = { kind: 'outOfBand' as const, add: [ACCOUNT], remove: [] };
  await w.runPass({ slot: 0, sync: true, crashAfter: false, interleave: { at, after: false, action: share } });
  offsetMs += 3_000;
  await w.runPass({ slot: 0, sync: true, crashAfter: false });
  await deleteAndCheck(w);
  return { violations: w.violations, stats: w.stats };
}

it('excuses a foreign share made after the planning read and before the grant, and only that', async () => {
  const seen: Record<string, number> = {};
  for (let at = 0; at < 10; at++) {
    const { violations, stats } = await foreignShareAt(at);
    // The reconciler is correct here: whatever it adopts, the oracle must accept (no false alarm at any await).
    expect(`await ${at}: ${violations.join('; ')}`).toBe(`await ${at}: `);
    // A share made before the pass's first read (await 0) is visible to it: never adopted, never excused.
    if (at === 0) expect(stats).not.toHaveProperty('foreign shares revoked as adopted');
    for (const [k, v] of Object.entries(stats)) seen[k] = (seen[k] ?? 0) + v;
  }
  // Both halves of the window occur: before the intent, and between the intent and the (no-op) grant.
  expect(seen['foreign shares made before our intent']).toBeGreaterThan(0);
  expect(seen['foreign shares made between our intent and our grant']).toBeGreaterThan(0);
}, 120_000);

// ADR 0031's excuse, pinned the same way: someone else revokes and re-shares an account the object granted. Until a
// read showing our grant has been recorded (or when their SharedTime is the same second as ours), nothing tells the
// shares apart and the object's Revoke deletion may take theirs; once a recorded read and a later second separate
// them, the object must leave their share alone, and the oracle excuses nothing.
async function reshareAfterGrant(
  reads: number,
  gapMs: number,
  readGapMs = 3_000,
): Promise<{ violations: string[]; stats: Record<string, number>; shared: boolean }> {
  frozenAt = Math.floor(Date.now() / 1000) * 1000 + 100;
  const w = await oneObjectWorld('Additive');
  await w.runPass({ slot: 0, sync: true, crashAfter: false });
  for (let i = 0; i < reads; i++) {
    offsetMs += readGapMs;
    await w.runPass({ slot: 0, sync: true, crashAfter: false });
  }
  offsetMs += gapMs;
  await w.act({ kind: 'outOfBand', add: [ACCOUNT], remove: [ACCOUNT] });
  offsetMs += 3_000;
  await w.runPass({ slot: 0, sync: true, crashAfter: false });
  await deleteAndCheck(w);
  const shared = (await emu.admin.image(REGION, IMAGE)).sharedWith.some((s) => s.id === ACCOUNT);
  frozenAt = undefined;
  return { violations: w.violations, stats: w.stats, shared };
}

it.each([
  {
    why: 'a re-share before any read showed our grant is indistinguishable: excused',
    reads: 0,
    readGapMs: 0,
    gapMs: 0,
    excused: true,
  },
  {
    why: 'a re-share in the same second as the recorded SharedTime of our grant: excused',
    reads: 1,
    readGapMs: 0,
    gapMs: 0,
    excused: true,
  },
  {
    why: 'a re-share a later second after a recorded read: theirs, kept, nothing excused',
    reads: 1,
    readGapMs: 3_000,
    gapMs: 2_000,
    excused: false,
  },
])(
  '$why',
  async ({ reads, readGapMs, gapMs, excused }) => {
    const { violations, stats, shared } = await reshareAfterGrant(reads, gapMs, readGapMs);
    expect(violations).toEqual([]);
    if (excused) expect(stats['foreign re-shares indistinguishable from our grant']).toBe(1);
    else {
      expect(stats).not.toHaveProperty('foreign re-shares indistinguishable from our grant');
      // The product told their share from ours: the Revoke deletion left it shared.
      expect(shared).toBe(true);
    }
  },
  120_000,
);

// ADR 0007's ambiguity when our grant never lands: the pass records its intent, then dies at an await before (or
// while) sending the grant; someone else shares the account; the next pass sees it shared with an intent on record
// and takes it as its own, so the Revoke deletion revokes it. The oracle excuses exactly that, at every await.
it('excuses a foreign share made after our intent when our grant never landed (a crash), at every await', async () => {
  const seen: Record<string, number> = {};
  for (let at = 0; at < 10; at++) {
    const w = await oneObjectWorld('Authoritative');
    await w.runPass({ slot: 0, sync: true, crashAt: at, crashAfter: false });
    await w.act({ kind: 'outOfBand', add: [ACCOUNT], remove: [] });
    offsetMs += 3_000;
    await w.runPass({ slot: 0, sync: true, crashAfter: false });
    await deleteAndCheck(w);
    expect(`await ${at}: ${w.violations.join('; ')}`).toBe(`await ${at}: `);
    for (const [k, v] of Object.entries(w.stats)) seen[k] = (seen[k] ?? 0) + v;
  }
  expect(seen['foreign shares made between our intent and our grant']).toBeGreaterThan(0);
}, 120_000);
