// Writes whose answer was lost stay unknown whatever ends the retry loop (issue 14 items 1 and 2): the unmodified
// SDK against the emulator, whose lostReply fault applies a call and then resets the connection. The abort comes
// from the retry wait itself (the injected sleep fires the pass's signal), as a pass deadline or a newer spec would.
import { describe, expect, it } from '@jest/globals';
import { createEcsImageSharingFactory, type EcsFactoryOptions } from '../../src/cloud/ecs-factory.ts';
import type { ImageRef } from '../../src/cloud/port.ts';
import { executePlan } from '../../src/reconcile/execute-plan.ts';
import { afterWrites, ownershipOf, settle, withIntent } from '../../src/reconcile/ownership.ts';
import type { SharePlan } from '../../src/reconcile/plan-shares.ts';
import { CREDS, REGION, RECIPIENTS, world } from './adapter-fixtures.ts';
import { useEmulator } from './use-emulator.ts';

const emu = useEmulator(world);
const ref: ImageRef = { regionId: REGION, imageId: 'm-test' };

function sharing(o: Partial<EcsFactoryOptions>) {
  return createEcsImageSharingFactory({
    endpoint: emu().endpoint,
    protocol: 'http',
    timeoutMs: 5000,
    qps: 1000,
    burst: 1000,
    maxAttempts: 4,
    ...o,
  }).forCredentials(CREDS);
}

const plan = (p: Partial<SharePlan>): SharePlan => ({
  operations: [],
  grant: [],
  revoke: [],
  blockers: [],
  unmanagedShares: [],
  ...p,
});

async function sharedNow(): Promise<string[]> {
  return (await emu().admin.image(REGION, 'm-test')).sharedWith.map((s) => s.id).sort();
}

describe('a grant whose answer was lost, then the pass is aborted during the retry wait (item 1)', () => {
  it('reports the batch unknown (not unsent), so the intent stays on record', async () => {
    const accounts = RECIPIENTS.slice(0, 3);
    await emu().admin.addFault({ type: 'lostReply', action: 'ModifyImageSharePermission', times: 1 });
    const ac = new AbortController();
    const s = sharing({ sleep: async () => ac.abort() }); // the deadline fires while the loop waits to retry
    const grant = plan({ operations: [{ kind: 'grant', accounts }], grant: accounts });
    const out = await executePlan(grant, s, ref, ac.signal);
    expect(await sharedNow()).toEqual([...accounts].sort()); // ECS did apply it
    expect([out.aborted, out.error]).toEqual([true, undefined]);
    expect([out.granted, out.unknown.grant]).toEqual([[], accounts]);
    // The ownership record keeps every account pending: none is forgotten while it may be shared.
    const now = new Date('2026-01-01T00:00:00Z');
    const own = withIntent(ownershipOf(undefined), grant, now);
    const after = afterWrites(own, grant, out, now, ownershipOf(undefined));
    expect(after.pendingWrites.map((w) => w.account).sort()).toEqual([...accounts].sort());
  });

  it('control: an abort before anything was sent still reports nothing sent', async () => {
    const ac = new AbortController();
    ac.abort();
    const accounts = RECIPIENTS.slice(0, 3);
    const out = await executePlan(
      plan({ operations: [{ kind: 'grant', accounts }], grant: accounts }),
      sharing({}),
      ref,
      ac.signal,
    );
    expect([out.granted, out.unknown.grant, (await emu().admin.calls()).calls.length]).toEqual([[], [], 0]);
  });
});

describe('a publish whose answer was lost, then throttling (item 2)', () => {
  it('is unknown, not refused; the publish stays pending and the next read makes it owned', async () => {
    await emu().admin.addFault({ type: 'lostReply', action: 'ModifyImageSharePermission', times: 1 });
    // Every retry after the lost answer is throttled, so the loop ends on a 400 that alone would mean "refused".
    const s = sharing({
      maxAttempts: 2,
      sleep: () => emu().admin.addFault({ type: 'error', code: 'Throttling.User', times: 5 }),
    });
    const publish = plan({ operations: [{ kind: 'publish' }], community: 'Publish' });
    const out = await executePlan(publish, s, ref);
    expect((await emu().admin.image(REGION, 'm-test')).community).toBe(true); // ECS did publish
    expect(out.error?.reason).toBe('Throttled');
    expect([out.published, out.unknown.community]).toEqual([false, true]);
    const t0 = new Date('2026-01-01T00:00:00Z');
    const own = withIntent(ownershipOf(undefined), publish, t0);
    const after = afterWrites(own, publish, out, t0, ownershipOf(undefined));
    expect(after.pendingWrites.map((w) => w.action)).toEqual(['Publish']);
    // The next pass's read shows the image public: the publish is ours, so a Revoke deletion unpublishes it.
    await emu().admin.clearFaults();
    const observed = await sharing({}).observe(ref);
    const settled = settle(after, observed, [], new Date(t0.getTime() + 5_000), 60_000, true);
    expect(settled.ownership.managedCommunity).toBe(true);
  });

  it('a publish whose answer was lost, then the pass aborted during the retry wait, is unknown too', async () => {
    await emu().admin.addFault({ type: 'lostReply', action: 'ModifyImageSharePermission', times: 1 });
    const ac = new AbortController();
    const publish = plan({ operations: [{ kind: 'publish' }], community: 'Publish' });
    const out = await executePlan(publish, sharing({ sleep: async () => ac.abort() }), ref, ac.signal);
    expect((await emu().admin.image(REGION, 'm-test')).community).toBe(true);
    expect([out.aborted, out.error, out.published, out.unknown.community]).toEqual([true, undefined, false, true]);
  });
});
