// `validate` checks ImageShares; the API group's other kinds (ImageShareSet, AccountSet, ClusterAccountSet,
// ImageSharePolicy) are not ImageShares and are skipped, while a misspelled ImageShare is still checked.
import { describe, expect, it } from '@jest/globals';
import { looksLikeImageShare } from '../../src/api/validate.ts';

describe('looksLikeImageShare and the fleet kinds', () => {
  it.each([
    ['ImageShareSet', false, 'a set of images is its own kind (docs/adr/0027)'],
    ['AccountSet', false, 'an account list is data, not a share (docs/adr/0028)'],
    ['ClusterAccountSet', false, 'the cluster-scoped account list'],
    ['ImageSharePolicy', false, 'the admin policy kind'],
    ['ImageShare', true, 'the kind validate checks'],
    ['Imageshares', true, 'a misspelled ImageShare is still checked, and its kind reported'],
    ['ImageShareSett', true, 'an unknown kind in our group is checked (and reported) rather than skipped'],
  ])('%s → %s (%s)', (kind, want) => {
    expect(looksLikeImageShare({ apiVersion: 'ecs.alicloud.dev/v1alpha1', kind })).toBe(want);
  });
});
