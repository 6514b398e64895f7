// The offline validator (src/api/validate.ts) on the shared corpus; test/integration/validate.test.ts sends the
// same corpus to a real kube-apiserver and compares verdicts, fields and messages.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  looksLikeImageShare,
  PatternMessage,
  validateImageShare,
  validateImageShareFields,
} from '../../src/api/validate.ts';
import { ROWS } from '../support/validate-rows.ts';

describe('validateImageShare', () => {
  it('covers at least 60 invalid manifests', () => {
    expect(ROWS.filter((r) => r.field !== null).length).toBeGreaterThanOrEqual(60);
  });

  it.each(ROWS)('$why', ({ doc, field, message }) => {
    const problems = validateImageShareFields(doc);
    if (field === null) expect(problems).toEqual([]);
    else
      expect(
        problems.filter((p) => p.field === field && (message === undefined || p.message.includes(message))),
      ).not.toEqual([]);
  });

  it('reports a document that is not an ImageShare at all', () => {
    expect(validateImageShare('text')).toEqual(['the document is not an object']);
    expect(validateImageShare({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } })).toEqual([
      'apiVersion: must be ecs.alicloud.dev/v1alpha1, got "v1"',
      'kind: must be ImageShare (kinds are case-sensitive), got "Secret"',
      'spec: Required value',
    ]);
  });

  it.each<[unknown, boolean, string]>([
    [{ kind: 'ImageShare' }, true, 'the kind itself'],
    [{ kind: 'Imageshare' }, true, 'a misspelling in case must be reported, not skipped'],
    [{ kind: 'ImageShares' }, true, 'the plural by mistake'],
    [{ apiVersion: 'ecs.alicloud.dev/v1alpha1', kind: 'ImageSahre' }, true, 'any kind in our API group'],
    [{ apiVersion: 'v1', kind: 'Secret' }, false, 'other objects in the same files are not ours to check'],
    ['text', false, 'not an object'],
  ])('looksLikeImageShare(%j) is %s (%s)', (doc, expected) => {
    expect(looksLikeImageShare(doc)).toBe(expected);
  });
});

describe('pattern messages', () => {
  it.each(Object.entries(PatternMessage))(
    '%s is word for word a CEL message in crds/imageshare.yaml',
    async (_key, message) => {
      // Why: the apiserver prints the CRD's message and validate prints ours; a user must read the same sentence.
      const crd = parse(await readFile(new URL('../../crds/imageshare.yaml', import.meta.url), 'utf8')) as unknown;
      expect(celMessages(crd)).toContain(message);
    },
  );
});

function celMessages(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(celMessages);
  if (typeof node !== 'object' || node === null) return [];
  const own = (node as { 'x-kubernetes-validations'?: Array<{ message?: string }> })['x-kubernetes-validations'] ?? [];
  return [
    ...own.flatMap((r) => (r.message === undefined ? [] : [r.message])),
    ...Object.values(node).flatMap(celMessages),
  ];
}
