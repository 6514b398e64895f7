// schemas/ (the JSON Schema kubeconform users point -schema-location at) must be what the CRD yields today, and the
// conversion must keep the catalog converter's rules that make kubeconform strict.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { CRD_PATH, crdToJsonSchemas, staleSchemas } from '../support/crd-json-schema.ts';

describe('schemas/ from crds/imageshare.yaml', () => {
  it('is in sync with the CRD (npm run generate-schemas regenerates it)', async () => {
    expect(await staleSchemas()).toEqual([]);
  });

  it('uses the CRDs-catalog path <group>/<lower-case kind>_<version>.json', async () => {
    expect([...crdToJsonSchemas(await readFile(CRD_PATH, 'utf8')).keys()]).toEqual([
      'ecs.alicloud.dev/imageshare_v1alpha1.json',
    ]);
  });

  it('closes every object with properties, the root included, and leaves free-form objects open', () => {
    // Why: kubeconform only reports a misspelled field if additionalProperties is false; metadata has no properties.
    const crd = `kind: CustomResourceDefinition
spec:
  group: g.example
  names: { kind: Thing }
  versions:
    - name: v1
      schema:
        openAPIV3Schema:
          type: object
          properties:
            metadata: { type: object }
            spec: { type: object, properties: { a: { type: string } } }
            map: { type: object, properties: { b: { type: string } }, additionalProperties: true }
            port: { x-kubernetes-int-or-string: true, format: int-or-string }
`;
    const schema = JSON.parse(crdToJsonSchemas(crd).get('g.example/thing_v1.json') ?? '{}') as Record<string, unknown>;
    expect(schema).toMatchObject({
      additionalProperties: false,
      properties: {
        metadata: { type: 'object' },
        spec: { additionalProperties: false },
        map: { additionalProperties: true },
        port: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
      },
    });
    expect((schema.properties as Record<string, object>).metadata).not.toHaveProperty('additionalProperties');
  });
});
