// The one `connect` step (src/reconcile/connect.ts) the controller and `plan` share: spec.credentials in, the
// credentials to call ECS with and who they are out, or why there are none. One row per kind of credentials.
import { expect, it } from '@jest/globals';
import type { CredentialsSpec } from '../../src/api/types.ts';
import type { CloudCredentials } from '../../src/cloud/port.ts';
import { type CredentialsLookup, connect } from '../../src/reconcile/connect.ts';

const SECRET = 'test-secret-never-shown';
const key: CloudCredentials = { type: 'static', accessKeyId: 'LTAItestKey9', accessKeySecret: SECRET };
const ARN = 'acs:ram::1000000000000001:role/image-sharer';

it.each<{ why: string; spec: CredentialsSpec | undefined; secret?: CredentialsLookup; want: object }>([
  {
    why: 'no spec.credentials: the operator identity, fingerprinted with the operator identity it runs as',
    spec: undefined,
    want: { ok: true, credentials: { type: 'default' }, identity: 'default:key:abc', label: 'default' },
  },
  {
    why: 'a roleArn is assumed from the operator identity, and the Secret is never read',
    spec: { roleArn: ARN },
    want: {
      ok: true,
      credentials: { type: 'roleArn', roleArn: ARN },
      identity: `role:${ARN}`,
      label: `roleArn ${ARN}`,
    },
  },
  {
    why: 'a readable Secret gives its key; the identity names the Secret and a hash of the key ID, not the key',
    spec: { secretRef: { name: 'owner' } },
    secret: { ok: true, credentials: key },
    want: {
      ok: true,
      credentials: key,
      identity: expect.stringMatching(/^secret:owner:[0-9a-f]{12}$/),
      label: 'Secret team-a/owner',
    },
  },
  {
    why: 'an unreadable Secret is a refusal with the reader’s message (the controller blocks, plan falls back)',
    spec: { secretRef: { name: 'gone' } },
    secret: { ok: false, message: 'Secret team-a/gone not found.' },
    want: { ok: false, message: 'Secret team-a/gone not found.' },
  },
])('$why', async ({ spec, secret, want }) => {
  const asked: string[] = [];
  const got = await connect({
    namespace: 'team-a',
    credentials: spec,
    operatorIdentity: 'key:abc',
    readSecret: async (ns, name) => {
      asked.push(`${ns}/${name}`);
      return secret ?? { ok: false, message: 'not asked' };
    },
  });
  expect(got).toEqual(want);
  expect(asked).toEqual(spec?.secretRef ? [`team-a/${spec.secretRef.name}`] : []);
  expect(JSON.stringify(got.ok ? { identity: got.identity, label: got.label } : got)).not.toContain(SECRET);
  expect(JSON.stringify(got.ok ? got.identity : '')).not.toContain('LTAItestKey9');
});
