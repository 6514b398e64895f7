// The offline validator (imageshare-operator validate) must agree with the real apiserver's admission of the CRD:
// the same manifests, accepted or rejected by both.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { validateImageShare } from '../../src/api/validate.ts';
import { createNamespace, kubectl } from '../harness/kubectl.ts';
import { ROWS } from '../support/validate-rows.ts';

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('validate');
});

describe('offline validation agrees with the apiserver', () => {
  it.each(ROWS)('$why', async ({ doc }) => {
    const manifest = { ...(doc as Record<string, unknown>), metadata: { ...((doc as { metadata?: object }).metadata ?? {}), namespace: ns } };
    const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: stringify(manifest), allowFail: true });
    const offline = validateImageShare(manifest);
    expect({ apiserverAccepts: r.code === 0, offlineAccepts: offline.length === 0, apiserver: r.stderr.trim() }).toEqual({
      apiserverAccepts: offline.length === 0,
      offlineAccepts: offline.length === 0,
      apiserver: expect.any(String),
    });
  });
});
