import { describe, expect, it } from '@jest/globals';
import { validateImageShare } from '../../src/api/validate.ts';
import { ROWS } from '../support/validate-rows.ts';

describe('validateImageShare', () => {
  it.each(ROWS)('$why', ({ doc, problem }) => {
    const problems = validateImageShare(doc);
    if (problem === null) expect(problems).toEqual([]);
    else expect(problems.join('\n')).toContain(problem);
  });

  it('reports a document that is not an ImageShare at all', () => {
    expect(validateImageShare('text')).toEqual(['the document is not an object']);
    expect(validateImageShare({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } })).toEqual([
      'apiVersion: must be ecs.alicloud.dev/v1alpha1',
      'kind: must be ImageShare',
      'spec: Required value',
    ]);
  });
});
