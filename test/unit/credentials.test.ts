import { describe, expect, it } from '@jest/globals';
import { buildSdkCredential, credentialIdentity } from '../../src/cloud/credentials.ts';
import type { CloudCredentials } from '../../src/cloud/port.ts';

const SECRET = 'test-secret-never-in-keys';
const TOKEN = 'test-sts-token-never-in-keys';
const stat: CloudCredentials = { type: 'static', accessKeyId: 'LTAItestKey1', accessKeySecret: SECRET };
const sts: CloudCredentials = { ...stat, accessKeyId: 'STS.testKey1', securityToken: TOKEN };
const role: CloudCredentials = { type: 'roleArn', roleArn: 'acs:ram::1000000000000001:role/image-sharer' };

describe('credentialIdentity', () => {
  it.each([
    [{ type: 'default' } as CloudCredentials, 'default', 'the operator identity is one identity'],
    [stat, 'static:LTAItestKey1', 'a static key is identified by its key ID'],
    [sts, 'static:STS.testKey1', 'an STS credential is identified by its key ID too'],
    [role, 'role:acs:ram::1000000000000001:role/image-sharer', 'an assumed role is identified by its ARN'],
  ])('%o → %s (%s)', (c, key) => {
    const id = credentialIdentity(c);
    expect(id.key).toBe(key);
    expect(JSON.stringify(id)).not.toContain(SECRET);
    expect(JSON.stringify(id)).not.toContain(TOKEN);
  });

  it('changes the fingerprint, not the key, when the secret or token rotates', () => {
    const a = credentialIdentity(stat);
    const b = credentialIdentity({ ...stat, accessKeySecret: 'test-rotated' });
    const c = credentialIdentity({ ...stat, securityToken: 'test-token' });
    expect([b.key, c.key]).toEqual([a.key, a.key]);
    expect(new Set([a.fingerprint, b.fingerprint, c.fingerprint]).size).toBe(3);
  });
});

describe('buildSdkCredential', () => {
  it('builds an access_key credential for a static key', async () => {
    const c = buildSdkCredential(stat);
    const m = await c.getCredential();
    expect([c.getType(), m.accessKeyId, m.accessKeySecret, m.securityToken]).toEqual([
      'access_key',
      'LTAItestKey1',
      SECRET,
      undefined,
    ]);
  });

  it('builds an sts credential when a security token is present', async () => {
    const c = buildSdkCredential(sts);
    const m = await c.getCredential();
    expect([c.getType(), m.securityToken]).toEqual(['sts', TOKEN]);
  });

  it('builds the AssumeRole provider (assume-role.ts) without calling STS yet', () => {
    const c = buildSdkCredential(role) as unknown as { credential: { provider: { getProviderName(): string } } };
    expect(c.credential.provider.getProviderName()).toBe('ram_role_arn/imageshare-operator');
  });

  it('builds the default chain lazily (no provider is tried until a call needs credentials)', async () => {
    // The first provider of the chain reads the key from the environment: watch which variables are read, and when.
    const real = process.env;
    const reads: string[] = [];
    process.env = new Proxy(real, {
      get: (target, k) => {
        if (typeof k === 'string') reads.push(k);
        return Reflect.get(target, k);
      },
    });
    const keyVars = ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET'];
    const saved = keyVars.map((k) => real[k]);
    try {
      const c = buildSdkCredential({ type: 'default' });
      expect(reads.filter((k) => keyVars.includes(k))).toEqual([]);
      real.ALIBABA_CLOUD_ACCESS_KEY_ID = 'LTAItestLazy1';
      real.ALIBABA_CLOUD_ACCESS_KEY_SECRET = SECRET;
      expect((await c.getCredential()).accessKeyId).toBe('LTAItestLazy1'); // tried now, on demand
      expect(reads).toEqual(expect.arrayContaining(keyVars));
    } finally {
      process.env = real;
      keyVars.forEach((k, i) => {
        if (saved[i] === undefined) delete real[k];
        else real[k] = saved[i];
      });
    }
  });
});
