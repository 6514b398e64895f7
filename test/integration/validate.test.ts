// The offline validator (imageshare-operator validate) must agree with the real apiserver's admission of the CRD on
// the shared corpus (test/support/validate-rows.ts, ≥ 60 invalid manifests): the same verdict, the same fields, and
// for every worded rule (the CEL messages of pattern-checked fields, community/credentials/resync rules) the
// apiserver's message for that field contains the sentence validate prints. Requests are server-side dry runs with
// strict field validation, which is what `kubectl apply` sends.
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { GROUP, PLURAL, VERSION } from '../../src/api/types.ts';
import {
  AccountSetRefsMessage,
  ExpiringMessage,
  type FieldProblem,
  PatternMessage,
  validateImageShareFields,
} from '../../src/api/validate.ts';
import { SetMessage, validateFleetFields } from '../../src/api/validate-sets.ts';
import { ACCOUNT_SET_PLURAL, CLUSTER_ACCOUNT_SET_PLURAL, SET_PLURAL } from '../../src/fleet/types.ts';
import { createNamespace } from '../harness/kubectl.ts';
import { FLEET_ROWS, type FleetValidateRow, ROWS } from '../support/validate-rows.ts';
import { adminKubeConfig } from './runtime-fixtures.ts';

interface Verdict {
  accepted: boolean;
  /** Field → messages, as the apiserver reported them (causes, or unknown fields from a strict decoding error). */
  fields: Map<string, string[]>;
  raw: string;
}

let ns: string;
let api: CustomObjectsApi;
beforeAll(async () => {
  ns = await createNamespace('validate');
  api = adminKubeConfig().makeApiClient(CustomObjectsApi);
});

const PLURALS: Record<FleetValidateRow['kind'] | 'ImageShare', string> = {
  ImageShare: PLURAL,
  ImageShareSet: SET_PLURAL,
  AccountSet: ACCOUNT_SET_PLURAL,
  ClusterAccountSet: CLUSTER_ACCOUNT_SET_PLURAL,
};

async function admit(doc: unknown, kind: keyof typeof PLURALS = 'ImageShare'): Promise<Verdict> {
  const meta = (doc as { metadata?: object }).metadata ?? {};
  const cluster = kind === 'ClusterAccountSet';
  const body = { ...(doc as Record<string, unknown>), metadata: cluster ? meta : { ...meta, namespace: ns } };
  const request = {
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    body,
    dryRun: 'All',
    fieldValidation: 'Strict',
  };
  try {
    if (cluster) await api.createClusterCustomObject(request);
    else await api.createNamespacedCustomObject({ ...request, namespace: ns });
    return { accepted: true, fields: new Map(), raw: '' };
  } catch (err: unknown) {
    if (!(err instanceof ApiException)) throw err;
    return { accepted: false, ...statusFields(err.body) };
  }
}

/** Reads a Status body: details.causes (422), or `unknown field "x"` in a strict decoding error (400). */
function statusFields(body: unknown): { fields: Map<string, string[]>; raw: string } {
  const status = (typeof body === 'string' ? JSON.parse(body) : body) as {
    message?: string;
    details?: { causes?: Array<{ field?: string; message?: string }> };
  };
  const fields = new Map<string, string[]>();
  const add = (field: string, message: string) => fields.set(field, [...(fields.get(field) ?? []), message]);
  for (const c of status.details?.causes ?? []) {
    // With schema errors present the apiserver skips the CEL rules and says so in a cause without a field; validate
    // checks every rule regardless, which only adds information.
    if (c.field === '<nil>' && /validation rules were not checked/.test(c.message ?? '')) continue;
    // A rule on the object itself (the set's name length) has no field path; validate names it ''.
    add(c.field === '<nil>' ? '' : (c.field ?? ''), c.message ?? '');
  }
  for (const m of (status.message ?? '').matchAll(/unknown field "([^"]+)"/g)) add(m[1] ?? '', 'unknown field');
  return { fields, raw: status.message ?? '' };
}

/** The offline messages that are the CRD's own sentences, so the apiserver must print them too. */
const WORDED: readonly string[] = [
  ...Object.values(PatternMessage),
  ...Object.values(ExpiringMessage),
  ...Object.values(SetMessage),
  ...Object.values(AccountSetRefsMessage),
  'community: true cannot be combined with a non-empty accounts list',
  'credentials.secretRef and credentials.roleArn are mutually exclusive',
  'credentials must set exactly one of secretRef or roleArn',
  'resyncInterval must be between 1m and 24h',
];
const isWorded = (p: FieldProblem) => WORDED.some((w) => p.message.startsWith(w));
// Wrong apiVersion or kind never reaches schema validation: the apiserver answers with the request, not a field.
const isRootMismatch = (offline: FieldProblem[]) => offline.some((p) => p.field === 'apiVersion' || p.field === 'kind');

describe('offline validation agrees with the apiserver', () => {
  it('runs on at least 60 invalid manifests', () => {
    expect(ROWS.filter((r) => r.field !== null).length).toBeGreaterThanOrEqual(60);
  });

  it.each(ROWS)('$why', async ({ doc }) => {
    const server = await admit(doc);
    const offline = validateImageShareFields(doc);
    expect({ accepted: offline.length === 0, apiserver: server.raw }).toEqual({
      accepted: server.accepted,
      apiserver: server.raw,
    });
    if (server.accepted || isRootMismatch(offline)) return;
    expect([...new Set(offline.map((p) => p.field))].sort()).toEqual([...server.fields.keys()].sort());
    for (const p of offline.filter(isWorded)) {
      expect({ field: p.field, apiserver: server.fields.get(p.field) ?? [] }).toEqual({
        field: p.field,
        apiserver: expect.arrayContaining([expect.stringContaining(p.message)]),
      });
    }
  });
});

describe('offline validation of the fleet kinds agrees with the apiserver', () => {
  it.each(FLEET_ROWS)('$kind: $why', async ({ kind, doc }) => {
    const server = await admit(doc, kind);
    const offline = validateFleetFields(kind, doc);
    expect({ accepted: offline.length === 0, apiserver: server.raw }).toEqual({
      accepted: server.accepted,
      apiserver: server.raw,
    });
    if (server.accepted || isRootMismatch(offline)) return;
    expect([...new Set(offline.map((p) => p.field))].sort()).toEqual([...server.fields.keys()].sort());
    for (const p of offline.filter(isWorded)) {
      expect({ field: p.field, apiserver: server.fields.get(p.field) ?? [] }).toEqual({
        field: p.field,
        apiserver: expect.arrayContaining([expect.stringContaining(p.message)]),
      });
    }
  });
});
