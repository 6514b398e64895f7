// The label keys a set passes on to its children under --watch-label-selector (src/fleet/plan.ts selectorKeys), and
// the children's labels that follow from them (childLabels / driftPatch).
import { describe, expect, it } from '@jest/globals';
import { childLabels, driftPatch, selectorKeys } from '../../src/fleet/plan.ts';

describe('selectorKeys', () => {
  it.each<[string | undefined, string[], string]>([
    [undefined, [], 'no sharding: children carry only the set and region labels'],
    ['shard=a', ['shard'], 'the common shard selector'],
    ['imageshare.example/shard==a', ['imageshare.example/shard'], 'a prefixed key with =='],
    ['shard!=b', ['shard'], 'inequality names the key too (the set has some other value)'],
    ['shard in (a, b),tier', ['shard', 'tier'], 'the comma inside a set is not a separator; an existence test'],
    ['!legacy', ['legacy'], 'a must-not-exist test: the set has no such label, so nothing is copied'],
    [' shard = a , zone notin (x,y)', ['shard', 'zone'], 'spaces around the operator'],
  ])('%j → %j (%s)', (selector, keys) => {
    expect(selectorKeys(selector)).toEqual(keys);
  });
});

describe('children carry the shard labels', () => {
  it('a new child has the inherited labels, and the set and region labels win over them', () => {
    // Why: a set label that happens to use our own key must not re-point a child at another set.
    expect(childLabels('golden', 'cn-hangzhou', { shard: 'a', 'ecs.alicloud.dev/imageshareset': 'x' })).toEqual({
      shard: 'a',
      'ecs.alicloud.dev/imageshareset': 'golden',
      'ecs.alicloud.dev/region': 'cn-hangzhou',
    });
  });

  it('a child created before the shard label is patched to carry it', () => {
    // Why: when sharding is turned on later, the old children must move into the set's shard or nobody syncs them.
    const spec = { selector: { imageFamily: 'g' }, regions: ['cn-hangzhou'] };
    const child = {
      name: 'golden-cn-hangzhou-m-1',
      ownerUid: 'u',
      labels: childLabels('golden', 'cn-hangzhou'),
      spec: { regionId: 'cn-hangzhou', imageId: 'm-1' },
      deleting: false,
      pass: { observed: true, holdsFinalizer: true, owesCleanup: false },
    };
    const set = { name: 'golden', uid: 'u', spec, inheritedLabels: { shard: 'a' } };
    expect(driftPatch(set, child)?.patch).toEqual({ metadata: { labels: { ...child.labels, shard: 'a' } } });
    expect(driftPatch({ ...set, inheritedLabels: {} }, child)).toBeUndefined();
  });
});
