// The one-image-one-owner index: which keys name an image, kept as one entry per image (issue 19).
import { describe, expect, it } from '@jest/globals';
import { ClaimIndex } from '../../src/kube/claim-index.ts';

const img = (imageId: string, regionId = 'cn-hangzhou') => ({ spec: { regionId, imageId } });

type Step = ['add' | 'remove', string, ReturnType<typeof img>];

describe('ClaimIndex', () => {
  const rows: Array<{ why: string; steps: Step[]; claimants: Record<string, string[]>; size: number; shared: number }> =
    [
      {
        why: 'one object per image: one entry each, no collection',
        steps: [
          ['add', 'ns/a', img('m-1')],
          ['add', 'ns/b', img('m-2')],
        ],
        claimants: { 'm-1': ['ns/a'], 'm-2': ['ns/b'] },
        size: 2,
        shared: 0,
      },
      {
        why: 'a second claimant of the same image is found beside the first',
        steps: [
          ['add', 'ns/a', img('m-1')],
          ['add', 'other/a', img('m-1')],
        ],
        claimants: { 'm-1': ['ns/a', 'other/a'] },
        size: 1,
        shared: 1,
      },
      {
        why: 'when one of two claimants goes, the other is back to a single entry',
        steps: [
          ['add', 'ns/a', img('m-1')],
          ['add', 'ns/b', img('m-1')],
          ['remove', 'ns/a', img('m-1')],
        ],
        claimants: { 'm-1': ['ns/b'] },
        size: 1,
        shared: 0,
      },
      {
        why: 'an update re-adds the same key: still one claimant',
        steps: [
          ['add', 'ns/a', img('m-1')],
          ['remove', 'ns/a', img('m-1')],
          ['add', 'ns/a', img('m-1')],
          ['add', 'ns/a', img('m-1')],
        ],
        claimants: { 'm-1': ['ns/a'] },
        size: 1,
        shared: 0,
      },
      {
        why: 'a spec moved to another image leaves the old one unclaimed',
        steps: [
          ['add', 'ns/a', img('m-1')],
          ['remove', 'ns/a', img('m-1')],
          ['add', 'ns/a', img('m-2')],
        ],
        claimants: { 'm-1': [], 'm-2': ['ns/a'] },
        size: 1,
        shared: 0,
      },
      {
        why: 'the same image ID in another region is another image',
        steps: [
          ['add', 'ns/a', img('m-1')],
          ['add', 'ns/b', img('m-1', 'cn-beijing')],
        ],
        claimants: { 'm-1': ['ns/a'] },
        size: 2,
        shared: 0,
      },
      {
        why: 'removing a key that does not name the image changes nothing',
        steps: [
          ['add', 'ns/a', img('m-1')],
          ['remove', 'ns/b', img('m-1')],
        ],
        claimants: { 'm-1': ['ns/a'] },
        size: 1,
        shared: 0,
      },
    ];
  it.each(rows)('$why', ({ steps, claimants, size, shared }) => {
    const index = new ClaimIndex();
    for (const [op, key, obj] of steps) index[op](key, obj);
    for (const [imageId, keys] of Object.entries(claimants))
      expect(index.keys('cn-hangzhou', imageId).sort()).toEqual(keys);
    expect(index.size()).toBe(size);
    expect(index.shared()).toBe(shared);
  });
});
