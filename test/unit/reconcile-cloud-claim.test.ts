// Behaviour table for the owner tag on the image (ADR 0008): one image, one owner across installations. Each row
// asserts the calls, what the cloud holds (shares and tags) and the status; FakeCloud stands in for ECS.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import { type ClaimIdentity, OWNER_TAG, ownerTagValue } from '../../src/reconcile/claims.ts';
import { type ReconcileDeps, reconcile } from '../../src/reconcile/reconcile.ts';
import { type FakeCloud, terminal, throttled } from '../support/fake-cloud.ts';
import type { FakeStore } from '../support/fake-store.ts';
import { REF as ref, reconcileWorld } from '../support/reconcile-world.ts';

const A = '1111111111111111';
const CLUSTER = '3f2c1a9e-0000-4000-8000-000000000001';
const identity: ClaimIdentity = { clusterId: CLUSTER, watches: (ns) => ns === 'default' || ns === 'team-b' };

let store: FakeStore;
let cloud: FakeCloud;
let deps: ReconcileDeps;

beforeEach(() => {
  // The clock at 2026-12-01T12:00:00Z; SharedTime comes from the cloud's own counter.
  ({ store, cloud, deps } = reconcileWorld(
    { claims: identity },
    { start: Date.parse('2026-12-01T12:00:00Z'), cloudOnClock: false },
  ));
});

const spec = (s: Partial<ImageShareSpec> = {}): ImageShareSpec => ({ ...ref, accounts: [A], ...s });
const pass = () => reconcile('default', 'share', deps);
const ready = () => store.must('default', 'share').status?.conditions?.[0];
const ops = () => cloud.writes().map((c) => c.op);
const tags = () => cloud.image(ref).tags;
const ours = () => `${CLUSTER}/default/share`;

/** The next TagResources fails with `err` (the reads before it succeed). */
function failNextTag(err: Error): void {
  const tag = cloud.tagImage.bind(cloud);
  cloud.tagImage = async () => {
    cloud.tagImage = tag;
    cloud.calls.push({ op: 'tag' });
    throw err;
  };
}

describe('claiming an image', () => {
  it('an unclaimed image is tagged with cluster/namespace/name before the first grant', async () => {
    store.create('share', spec());
    await pass();
    expect(ops()).toEqual(['tag', 'grant']);
    expect(tags()).toEqual({ [OWNER_TAG]: ours() });
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('a tag that already names this object costs no call', async () => {
    cloud.image(ref).tags[OWNER_TAG] = ours();
    store.create('share', spec());
    await pass();
    expect(ops()).toEqual(['grant']);
  });

  it('a stale tag of this cluster, in a watched namespace, whose object is gone, is taken over', async () => {
    cloud.image(ref).tags[OWNER_TAG] = `${CLUSTER}/team-b/deleted-long-ago`;
    store.create('share', spec());
    await pass();
    expect(ops()).toEqual(['tag', 'grant']);
    expect(tags()).toEqual({ [OWNER_TAG]: ours() });
  });
});

describe('an image another installation claimed', () => {
  it.each([
    ['another cluster', `aaaaaaaa-other-cluster/default/share`],
    ['a namespace of this cluster that this installation does not watch', `${CLUSTER}/team-z/golden`],
  ])('claimed from %s: Stalled/DuplicateImageShare naming the owner, and nothing is written', async (_why, owner) => {
    cloud.image(ref).tags[OWNER_TAG] = owner;
    store.create('share', spec());
    const r = await pass();
    expect(ops()).toEqual([]);
    expect(cloud.image(ref).accounts.size).toBe(0);
    expect(ready()).toMatchObject({ status: 'False', reason: 'DuplicateImageShare' });
    expect(ready()?.message).toContain(owner);
    expect(store.must('default', 'share').status?.conditions?.[1]).toMatchObject({ type: 'Stalled', status: 'True' });
    expect(r.result).toBe('terminal');
  });

  it('Plan mode never tags, and also reports the foreign claim', async () => {
    store.create('share', spec({ mode: 'Plan' }));
    await pass();
    expect(ops()).toEqual([]);
    expect(tags()).toEqual({});
    cloud.image(ref).tags[OWNER_TAG] = 'other/ns/x';
    await pass();
    expect(ready()).toMatchObject({ reason: 'DuplicateImageShare' });
  });
});

describe('when the tag cannot be written', () => {
  it('a refusal (no ecs:TagResources) falls back to this cluster only: grants go on, Ready says so, the metric flag is set', async () => {
    failNextTag(terminal('Forbidden.RAM', 'AccessDenied'));
    store.create('share', spec());
    const r = await pass();
    expect(ops()).toEqual(['tag', 'grant']);
    expect([...cloud.image(ref).accounts.keys()]).toEqual([A]);
    expect(ready()).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(ready()?.message).toMatch(/Ownership is checked in this cluster only/);
    expect(r.tagFallback).toBe(true);
  });

  it('a transient failure (throttled) stops the pass before any grant; the retry claims, then grants', async () => {
    failNextTag(throttled());
    store.create('share', spec());
    const r = await pass();
    expect(ops()).toEqual(['tag']);
    expect(r.requeue.kind).toBe('backoff');
    await pass();
    expect(ops()).toEqual(['tag', 'tag', 'grant']);
    expect(tags()).toEqual({ [OWNER_TAG]: ours() });
  });
});

describe('releasing the claim', () => {
  it('deletion with Revoke removes the tag after the revokes', async () => {
    store.create('share', spec({ deletionPolicy: 'Revoke' }));
    await pass();
    store.delete('share');
    await pass();
    expect(ops()).toEqual(['tag', 'grant', 'revoke', 'untag']);
    expect(tags()).toEqual({});
    expect(store.objects.has('default/share')).toBe(false);
  });
});

describe('ownerTagValue', () => {
  const obj = (namespace: string, name: string) => ({ metadata: { namespace, name } }) as ImageShare;
  it("fits ECS's 128 characters: long names are cut and end in a hash, so two long names stay distinct", () => {
    const a = ownerTagValue(identity, obj('default', 'x'.repeat(200)));
    const b = ownerTagValue(identity, obj('default', `${'x'.repeat(199)}y`));
    expect(a).toHaveLength(128);
    expect(a).not.toBe(b);
    expect(ownerTagValue(identity, obj('default', 'share'))).toBe(`${CLUSTER}/default/share`);
  });
});

describe('the installation in the owner tag (two installations whose --namespaces overlap)', () => {
  beforeEach(() => {
    deps.claims = { ...identity, installation: 'ops.imageshare-operator' };
  });

  it('the tag names the installation after "@"', async () => {
    store.create('share', spec());
    await pass();
    expect(tags()).toEqual({ [OWNER_TAG]: `${ours()}@ops.imageshare-operator` });
  });

  it('another object in a namespace both watch, claimed by the other installation, is foreign: nothing is written', async () => {
    cloud.image(ref).tags[OWNER_TAG] = `${CLUSTER}/team-b/golden@team-b.imageshare-operator`;
    store.create('share', spec());
    await pass();
    expect(ops()).toEqual([]);
    expect(ready()).toMatchObject({ reason: 'DuplicateImageShare' });
  });

  it('a tag written before installations were recorded (no "@") is judged by the cache as before, and taken over', async () => {
    cloud.image(ref).tags[OWNER_TAG] = `${CLUSTER}/team-b/deleted-long-ago`;
    store.create('share', spec());
    await pass();
    expect(ops()).toEqual(['tag', 'grant']);
  });

  it('a tag naming this very object under another installation is taken over (the status decides who reconciles it)', async () => {
    cloud.image(ref).tags[OWNER_TAG] = `${ours()}@old-release.imageshare-operator`;
    store.create('share', spec());
    await pass();
    expect(ops()).toEqual(['tag', 'grant']);
    expect(tags()).toEqual({ [OWNER_TAG]: `${ours()}@ops.imageshare-operator` });
  });
});
