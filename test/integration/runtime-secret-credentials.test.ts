import { describe, expect, it } from '@jest/globals';
import { SecretCredentialsReader } from '../../src/kube/secret-credentials.ts';
import { createNamespace, kubectl } from '../harness/kubectl.ts';
import { adminKubeConfig, impersonatingKubeConfig } from './runtime-fixtures.ts';

const SECRET_VALUE = 'S3cr3t-value-never-logged';

describe('SecretCredentialsReader against a real apiserver', () => {
  it('reads static credentials, with an optional security token', async () => {
    const ns = await createNamespace('rt-creds');
    await kubectl([
      'create',
      'secret',
      'generic',
      'owner',
      '-n',
      ns,
      '--from-literal=accessKeyId=LTAI-test',
      `--from-literal=accessKeySecret=${SECRET_VALUE}`,
    ]);
    await kubectl([
      'create',
      'secret',
      'generic',
      'sts',
      '-n',
      ns,
      '--from-literal=accessKeyId=STS.x',
      '--from-literal=accessKeySecret=y',
      '--from-literal=securityToken=tok',
    ]);
    const reader = new SecretCredentialsReader(adminKubeConfig());
    expect(await reader.read(ns, 'owner')).toEqual({
      ok: true,
      credentials: { type: 'static', accessKeyId: 'LTAI-test', accessKeySecret: SECRET_VALUE },
    });
    expect(await reader.read(ns, 'sts')).toEqual({
      ok: true,
      credentials: { type: 'static', accessKeyId: 'STS.x', accessKeySecret: 'y', securityToken: 'tok' },
    });
  });

  const rows = [
    { why: 'a missing Secret names the Secret', secret: 'absent', literals: null, missingKey: undefined },
    {
      why: 'a missing accessKeySecret names that key',
      secret: 'half',
      literals: ['accessKeyId=LTAI-test'],
      missingKey: 'accessKeySecret',
    },
    {
      why: 'a missing accessKeyId names that key (and never echoes the secret value)',
      secret: 'noid',
      literals: [`accessKeySecret=${SECRET_VALUE}`],
      missingKey: 'accessKeyId',
    },
  ];
  it.each(rows)('$why', async ({ secret, literals, missingKey }) => {
    const ns = await createNamespace('rt-creds-missing');
    if (literals !== null) {
      await kubectl(['create', 'secret', 'generic', secret, '-n', ns, ...literals.map((l) => `--from-literal=${l}`)]);
    }
    const e = await new SecretCredentialsReader(adminKubeConfig()).read(ns, secret);
    if (e.ok) throw new Error('expected no credentials');
    expect([e.problem, e.missingKey]).toEqual(['missing', missingKey]);
    expect(e.message).toContain(`${ns}/${secret}`);
    if (missingKey !== undefined) expect(e.message).toContain(missingKey);
    expect(e.message).not.toContain(SECRET_VALUE);
  });
});

describe('SecretCredentialsReader when Secret access is not granted (least privilege by default)', () => {
  const rows = [
    {
      why: 'RBAC refuses the read (403): the message names the Helm value that grants it',
      allowed: 'all' as const,
      rbacDenied: true,
    },
    {
      why: 'the namespace is not in --secret-namespaces: same message, and no request is made',
      allowed: ['elsewhere'],
      rbacDenied: false,
    },
  ];
  it.each(rows)('$why', async ({ allowed, rbacDenied }) => {
    const ns = await createNamespace('rt-creds-denied');
    await kubectl([
      'create',
      'secret',
      'generic',
      'owner',
      '-n',
      ns,
      '--from-literal=accessKeyId=LTAI-test',
      `--from-literal=accessKeySecret=${SECRET_VALUE}`,
    ]);
    const kc = rbacDenied ? impersonatingKubeConfig(`no-secrets-${ns}`) : adminKubeConfig();
    const found = await new SecretCredentialsReader(kc, allowed).read(ns, 'owner');
    if (found.ok) throw new Error('expected no credentials');
    expect(found.problem).toBe('denied'); // the reconciler reports it as reason CredentialsNotFound
    const { message } = found;
    expect(message).toContain(`namespace ${ns}`);
    expect(message).toContain('secretRefAccess.namespaces');
    expect(message).not.toContain(SECRET_VALUE);
  });
});
