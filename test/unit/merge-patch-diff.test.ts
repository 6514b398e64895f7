import { describe, expect, it } from '@jest/globals';
import { mergePatchDiff } from '../../src/kube/imageshare-client.ts';

type J = Parameters<typeof mergePatchDiff>[0];

/** Applies an RFC 7386 merge patch, to check that the diff really turns `from` into `to`. */
function apply(target: J, patch: J): J {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base: { [k: string]: J } =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = apply(base[k] ?? null, v);
  }
  return base;
}

describe('mergePatchDiff: the minimal status merge patch', () => {
  const rows: Array<{ why: string; from: J; to: J; patch: J | undefined }> = [
    {
      why: 'equal statuses need no request at all',
      from: { a: 1, l: [1, 2] },
      to: { l: [1, 2], a: 1 },
      patch: undefined,
    },
    {
      why: 'a field that disappeared is sent as null so the server drops it',
      from: { plan: { grant: [] }, a: 1 },
      to: { a: 1 },
      patch: { plan: null },
    },
    {
      why: 'nested objects recurse so a removed nested field is nulled, not left behind',
      from: { plan: { grant: ['1'], community: 'Publish' } },
      to: { plan: { grant: ['1'] } },
      patch: { plan: { community: null } },
    },
    {
      why: 'lists are replaced whole (merge patch cannot edit list items)',
      from: { l: [1, 2, 3] },
      to: { l: [1, 3] },
      patch: { l: [1, 3] },
    },
    { why: 'a new field is sent as is', from: {}, to: { observedGeneration: 2 }, patch: { observedGeneration: 2 } },
    { why: 'a scalar becoming an object is replaced', from: { x: 1 }, to: { x: { y: 2 } }, patch: { x: { y: 2 } } },
    {
      why: 'conditions with the same content in another key order are equal',
      from: { c: [{ type: 'Ready', status: 'True' }] },
      to: { c: [{ status: 'True', type: 'Ready' }] },
      patch: undefined,
    },
  ];
  it.each(rows)('$why', ({ from, to, patch }) => {
    const d = mergePatchDiff(from, to);
    expect(d).toEqual(patch);
    if (d !== undefined) expect(apply(from, d)).toEqual(to);
  });
});
