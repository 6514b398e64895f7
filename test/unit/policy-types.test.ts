// crds/imagesharepolicy.yaml is the schema source of truth; src/api/policy-types.ts describes the same object. These
// checks fail when the two drift apart, and when the CRD stops documenting a field for `kubectl explain`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  Allowance,
  POLICY_CREDENTIALS_FIELDS,
  POLICY_DEFAULTS,
  POLICY_IMAGES_FIELDS,
  POLICY_KIND,
  POLICY_PLURAL,
  POLICY_RECIPIENTS_FIELDS,
  POLICY_SPEC_FIELDS,
  SelectorOperator,
} from '../../src/api/policy-types.ts';
import { GROUP, VERSION } from '../../src/api/types.ts';
import { PolicyRule } from '../../src/policy/evaluate.ts';

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  default?: unknown;
}
const crd = parse(
  readFileSync(fileURLToPath(new URL('../../crds/imagesharepolicy.yaml', import.meta.url)), 'utf8'),
) as {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string };
    versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
  };
};
const root = crd.spec.versions.find((v) => v.name === VERSION)?.schema.openAPIV3Schema as Schema;
const spec = (...path: string[]): Schema => {
  let s: Schema | undefined = root.properties?.spec;
  for (const p of path) s = p === '[]' ? s?.items : s?.properties?.[p];
  if (s === undefined) throw new Error(`no schema at spec.${path.join('.')}`);
  return s;
};
const names = (s: Schema): string[] => Object.keys(s.properties ?? {}).sort();
const keys = (o: object): string[] => Object.keys(o).sort();

describe('crds/imagesharepolicy.yaml and src/api/policy-types.ts', () => {
  it('agree on group, version, kind, plural and scope', () => {
    expect([crd.spec.group, crd.spec.names.kind, crd.spec.names.plural, crd.spec.scope]).toEqual([
      GROUP,
      POLICY_KIND,
      POLICY_PLURAL,
      'Cluster',
    ]);
  });

  it('agree on every field list', () => {
    expect(names(spec())).toEqual(keys(POLICY_SPEC_FIELDS));
    expect(names(spec('credentials'))).toEqual(keys(POLICY_CREDENTIALS_FIELDS));
    expect(names(spec('images'))).toEqual(keys(POLICY_IMAGES_FIELDS));
    expect(names(spec('recipients'))).toEqual(keys(POLICY_RECIPIENTS_FIELDS));
    expect(spec('namespaceSelector', 'matchExpressions', '[]', 'operator').enum).toEqual(
      Object.values(SelectorOperator),
    );
    expect(spec('community').enum).toEqual(Object.values(Allowance));
  });

  it('have the same defaults', () => {
    expect({
      operatorIdentity: spec('credentials', 'operatorIdentity').default,
      secretRef: spec('credentials', 'secretRef').default,
      community: spec('community').default,
      authoritative: spec('authoritative').default,
      enforcement: spec('enforcement').default,
    }).toEqual(POLICY_DEFAULTS);
  });

  it('every rule name of the evaluator is a field path of the policy (or the baseline)', () => {
    for (const rule of Object.values(PolicyRule)) {
      if (rule === PolicyRule.TrustedNamespaces || rule === PolicyRule.Mode) continue;
      expect({ rule, described: spec(...rule.split('.')).description !== undefined }).toEqual({
        rule,
        described: true,
      });
    }
  });

  it('describes every field for kubectl explain', () => {
    const undocumented: string[] = [];
    const walk = (s: Schema, path: string): void => {
      if (path !== '' && s.description === undefined && path !== 'metadata') undocumented.push(path);
      for (const [k, child] of Object.entries(s.properties ?? {})) walk(child, path === '' ? k : `${path}.${k}`);
      if (s.items !== undefined) walk(s.items, `${path}[]`);
    };
    walk(root, '');
    expect(undocumented).toEqual([]);
  });
});
