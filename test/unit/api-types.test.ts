// crds/imageshare.yaml is the schema source of truth; src/api/types.ts describes the same objects in TypeScript.
// These checks fail when the two drift apart, and when the CRD stops documenting a field for `kubectl explain`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  AccountState,
  type AccountOutcome,
  CommunityAction,
  type Condition,
  ConditionStatus,
  type CredentialsSpec,
  DeletionPolicy,
  GROUP,
  type ImageInfo,
  type ImageShareSpec,
  KIND,
  Mode,
  PLURAL,
  type PlanStatus,
  type SecretRef,
  SharePolicy,
  SPEC_FIELDS,
  STATUS_FIELDS,
  VERSION,
} from '../../src/api/types.ts';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string }[];
}

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    versions: {
      name: string;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string; jsonPath: string; priority?: number }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const crd = parse(readFileSync(fileURLToPath(new URL('../../crds/imageshare.yaml', import.meta.url)), 'utf8')) as Crd;
const version = crd.spec.versions.find((v) => v.name === VERSION);

function node(schema: Schema | undefined, ...path: string[]): Schema {
  let current = schema;
  for (const step of path) current = step === '[]' ? current?.items : current?.properties?.[step];
  if (current === undefined) throw new Error(`no schema at ${path.join('.')}`);
  return current;
}

const root = (): Schema => node(version?.schema.openAPIV3Schema);
const spec = (...path: string[]): Schema => node(root(), 'spec', ...path);
const status = (...path: string[]): Schema => node(root(), 'status', ...path);
const propertyNames = (s: Schema): string[] => Object.keys(s.properties ?? {}).sort();
const keys = (o: object): string[] => Object.keys(o).sort();

/** Every node of a schema with its dotted path (`[]` for array items); the root has path ''. */
function schemaNodes(schema: Schema, path = ''): { path: string; schema: Schema }[] {
  const children = Object.entries(schema.properties ?? {}).map(([name, child]) => ({
    path: path === '' ? name : `${path}.${name}`,
    child,
  }));
  if (schema.items !== undefined) children.push({ path: `${path}[]`, child: schema.items });
  return [{ path, schema }, ...children.flatMap(({ path: p, child }) => schemaNodes(child, p))];
}

// Property names of the nested types, checked at compile time against the interfaces (an extra or a missing key
// fails `npm run typecheck`) and at run time against the CRD below.
const CONDITION_FIELDS = {
  type: true,
  status: true,
  reason: true,
  message: true,
  observedGeneration: true,
  lastTransitionTime: true,
} as const satisfies Record<keyof Condition, true>;
const ACCOUNT_OUTCOME_FIELDS = {
  id: true,
  state: true,
  reason: true,
  message: true,
  sharedTime: true,
  expiresAt: true,
} as const satisfies Record<keyof AccountOutcome, true>;
const PLAN_FIELDS = { grant: true, revoke: true, community: true } as const satisfies Record<keyof PlanStatus, true>;
const IMAGE_FIELDS = { name: true, status: true, encrypted: true } as const satisfies Record<keyof ImageInfo, true>;
const CREDENTIALS_FIELDS = { secretRef: true, roleArn: true } as const satisfies Record<keyof CredentialsSpec, true>;
const SECRET_REF_FIELDS = { name: true } as const satisfies Record<keyof SecretRef, true>;

// The keys a type declares as required, so `required:` in the CRD can be compared with the interface.
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
const SPEC_REQUIRED = { regionId: true, imageId: true } as const satisfies Record<RequiredKeys<ImageShareSpec>, true>;
const CONDITION_REQUIRED = {
  type: true,
  status: true,
  reason: true,
  message: true,
  lastTransitionTime: true,
} as const satisfies Record<Exclude<RequiredKeys<Condition>, 'observedGeneration'>, true>;

describe('crds/imageshare.yaml', () => {
  it('serves the group, version, kind and names the code uses', () => {
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.names.kind).toBe(KIND);
    expect(crd.spec.names.plural).toBe(PLURAL);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.shortNames).toEqual(['ishare']);
    expect(crd.spec.names.categories).toEqual(['alicloud']);
    expect(version?.storage).toBe(true);
    expect(version?.subresources?.status).toEqual({});
  });

  it('has exactly the spec and status fields of src/api/types.ts', () => {
    expect(propertyNames(spec())).toEqual(keys(SPEC_FIELDS));
    expect(propertyNames(status())).toEqual(keys(STATUS_FIELDS));
  });

  const nested: { why: string; schema: () => Schema; fields: object }[] = [
    { why: 'conditions are metav1.Condition', schema: () => status('conditions', '[]'), fields: CONDITION_FIELDS },
    { why: 'per-account outcomes', schema: () => status('accounts', '[]'), fields: ACCOUNT_OUTCOME_FIELDS },
    { why: 'the plan', schema: () => status('plan'), fields: PLAN_FIELDS },
    { why: 'the observed image', schema: () => status('image'), fields: IMAGE_FIELDS },
    { why: 'credentials', schema: () => spec('credentials'), fields: CREDENTIALS_FIELDS },
    { why: 'the Secret reference', schema: () => spec('credentials', 'secretRef'), fields: SECRET_REF_FIELDS },
  ];
  it.each(nested)('has the same nested fields as the types: $why', ({ schema, fields }) => {
    expect(propertyNames(schema())).toEqual(keys(fields));
  });

  it('requires what the types require', () => {
    expect([...(spec().required ?? [])].sort()).toEqual(keys(SPEC_REQUIRED));
    expect([...(status('conditions', '[]').required ?? [])].sort()).toEqual(keys(CONDITION_REQUIRED));
    expect([...(status('accounts', '[]').required ?? [])].sort()).toEqual(['id', 'state']);
    expect([...(status('plan').required ?? [])].sort()).toEqual(['grant', 'revoke']);
  });

  const enums: { why: string; schema: () => Schema; values: object }[] = [
    { why: 'spec.sharePolicy', schema: () => spec('sharePolicy'), values: SharePolicy },
    { why: 'spec.deletionPolicy', schema: () => spec('deletionPolicy'), values: DeletionPolicy },
    { why: 'spec.mode', schema: () => spec('mode'), values: Mode },
    { why: 'condition status', schema: () => status('conditions', '[]', 'status'), values: ConditionStatus },
    { why: 'per-account state', schema: () => status('accounts', '[]', 'state'), values: AccountState },
    { why: 'planned community action', schema: () => status('plan', 'community'), values: CommunityAction },
  ];
  it.each(enums)('enumerates the same values as the as-const object: $why', ({ schema, values }) => {
    expect([...(schema().enum ?? [])].sort()).toEqual(Object.values(values).sort());
  });

  it('defaults the policies the way API.md promises, and leaves community and resyncInterval undefaulted', () => {
    expect(spec('sharePolicy').default).toBe(SharePolicy.Authoritative);
    expect(spec('deletionPolicy').default).toBe(DeletionPolicy.Retain);
    expect(spec('mode').default).toBe(Mode.Apply);
    expect(spec('suspend').default).toBe(false);
    // Absent community means "never touch the flag"; a schema default would silently turn that into false.
    expect(spec('community')).not.toHaveProperty('default');
    expect(spec('resyncInterval')).not.toHaveProperty('default');
  });

  it('declares list semantics so server-side apply merges per entry', () => {
    expect(spec('accounts')['x-kubernetes-list-type']).toBe('set');
    expect(status('conditions')['x-kubernetes-list-type']).toBe('map');
    expect(status('conditions')['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(status('accounts')['x-kubernetes-list-type']).toBe('map');
    expect(status('accounts')['x-kubernetes-list-map-keys']).toEqual(['id']);
  });

  it('makes regionId and imageId immutable with a transition rule', () => {
    for (const field of ['regionId', 'imageId']) {
      expect(spec(field)['x-kubernetes-validations']).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            rule: 'self == oldSelf',
            message: expect.stringContaining(`${field} is immutable`),
          }),
        ]),
      );
    }
  });

  it('documents every property, so kubectl explain teaches the whole API', () => {
    // The apiserver forbids a description on the root metadata (it documents ObjectMeta itself).
    const undocumented = schemaNodes(root())
      .filter(({ path, schema }) => path !== '' && path !== 'metadata' && (schema.description ?? '').trim() === '')
      .map(({ path }) => path);
    expect(undocumented).toEqual([]);
  });

  it('gives every schema node a type (a structural schema)', () => {
    const untyped = schemaNodes(root())
      .filter(({ schema }) => schema.type === undefined)
      .map(({ path }) => path);
    expect(untyped).toEqual([]);
  });

  it('shows the columns API.md lists, Ready and Reason from the Ready condition', () => {
    const columns = version?.additionalPrinterColumns ?? [];
    expect(columns.filter((c) => (c.priority ?? 0) === 0).map((c) => c.name)).toEqual([
      'Image',
      'Region',
      'Accounts',
      'Community',
      'Ready',
      'Reason',
      'Age',
    ]);
    const path = (name: string) => columns.find((c) => c.name === name)?.jsonPath;
    expect(path('Image')).toBe('.spec.imageId');
    expect(path('Region')).toBe('.spec.regionId');
    expect(path('Ready')).toBe('.status.conditions[?(@.type=="Ready")].status');
    expect(path('Reason')).toBe('.status.conditions[?(@.type=="Ready")].reason');
  });
});
