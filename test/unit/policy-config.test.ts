// The tenancy flags (src/config.ts) and the reconcile-time report of a denial (src/policy/reconcile-check.ts).
import { describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareStatus } from '../../src/api/types.ts';
import { ConfigError, helpText, loadConfig } from '../../src/config.ts';
import { BASELINE, type Decision, PolicyRule } from '../../src/policy/evaluate.ts';
import { reconcileCheck, reportExisting, workedBefore } from '../../src/policy/reconcile-check.ts';

describe('tenancy flags', () => {
  it.each([
    [
      [],
      {},
      { tenancyMode: 'restricted', trustedNamespaces: [] },
      'the bare binary is secure by default, as the chart and deploy/ are (docs/adr/0034)',
    ],
    [
      ['--tenancy-mode=open'],
      {},
      { tenancyMode: 'open', trustedNamespaces: [] },
      "the one flag for single-tenant clusters that want 0.1's behaviour",
    ],
    [
      ['--tenancy-mode=restricted', '--trusted-namespaces', 'platform, ops'],
      {},
      { tenancyMode: 'restricted', trustedNamespaces: ['platform', 'ops'] },
      'what the chart passes: a mode and a comma list, blanks trimmed',
    ],
    [
      [],
      { IMAGESHARE_TENANCY_MODE: 'restricted', IMAGESHARE_TRUSTED_NAMESPACES: 'a' },
      { tenancyMode: 'restricted', trustedNamespaces: ['a'] },
      'each flag has an env var',
    ],
  ])('%j %j → %j (%s)', (argv, env, expected, _why) => {
    expect(loadConfig(argv, env)).toMatchObject(expected);
  });

  it.each([
    [
      ['--metrics-secure'],
      '--metrics-secure needs --metrics-cert-dir',
      'HTTPS needs a certificate: no silent plain HTTP',
    ],
    [
      ['--sts-endpoint', 'https://sts.test'],
      '--sts-endpoint takes host[:port] without a scheme (use --sts-protocol)',
      'the scheme is its own flag',
    ],
    [['--sts-protocol', 'ftp'], '--sts-protocol must be one of http, https', 'only the two protocols the SDK speaks'],
  ])('%j is refused: %s (%s)', (argv, message, _why) => {
    expect(() => loadConfig(argv, {})).toThrow(message);
  });

  it('reads the metrics, credentials and STS flags', () => {
    expect(
      loadConfig(
        ['--metrics-secure', '--metrics-cert-dir=/tls', '--credentials-dir=/keys', '--sts-endpoint=sts.test:8443'],
        {},
      ),
    ).toMatchObject({
      metricsSecure: true,
      metricsCertDir: '/tls',
      credentialsDir: '/keys',
      stsEndpoint: 'sts.test:8443',
      stsProtocol: 'https',
    });
    expect(loadConfig([], {})).toMatchObject({
      metricsSecure: false,
      credentialsDir: undefined,
      stsEndpoint: undefined,
    });
  });

  it('refuses an unknown mode with a message naming the flag and the choices', () => {
    expect(() => loadConfig(['--tenancy-mode=strict'], {})).toThrow(ConfigError);
    expect(() => loadConfig(['--tenancy-mode=strict'], {})).toThrow(
      '--tenancy-mode must be one of open, restricted, got "strict"',
    );
  });

  it('--help describes both flags with their env vars', () => {
    expect(helpText()).toContain('--tenancy-mode <value>');
    expect(helpText()).toContain('env: IMAGESHARE_TENANCY_MODE');
    expect(helpText()).toContain('--trusted-namespaces <value>');
    expect(helpText()).toContain('env: IMAGESHARE_TRUSTED_NAMESPACES');
  });
});

const denied: Decision = {
  allowed: false,
  policy: BASELINE,
  rule: PolicyRule.TrustedNamespaces,
  message: 'tenancy baseline denies rule tenancy.trustedNamespaces: namespace t is not trusted',
  enforce: false,
};
const obj = (status?: ImageShareStatus): ImageShare =>
  ({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { namespace: 't', name: 'x', generation: 1 },
    spec: { regionId: 'cn-hangzhou', imageId: 'm-1' },
    ...(status ? { status } : {}),
  }) as ImageShare;
const synced: ImageShareStatus = {
  conditions: [
    { type: 'Ready', status: 'True', reason: 'Synced', message: 'ok', observedGeneration: 1, lastTransitionTime: '' },
  ],
};

describe('what a denial reports', () => {
  it.each([
    [undefined, 'Nothing was written.', 'a new object denied at once wrote nothing'],
    [
      { managedAccounts: ['1', '2'] },
      'the 2 account(s) this object shared with (status.managedAccounts) stay as they are: a policy denial revokes nothing',
      'grants made before the denial are reported, not revoked',
    ],
    [
      { managedCommunity: true },
      'its community publication stay as they are',
      'a publication made before is reported too',
    ],
  ])('status %j → message contains %j (%s)', (status, text, _why) => {
    const d = reportExisting(denied, obj(status as ImageShareStatus | undefined));
    expect(d.allowed).toBe(false);
    if (!d.allowed) expect(d.message).toContain(text);
    if (!d.allowed) expect(d.message.startsWith(denied.allowed ? '' : denied.message)).toBe(true);
  });

  it.each([
    [undefined, false, 'never reconciled'],
    [synced, true, 'it was in sync'],
    [{ managedAccounts: ['1'] }, true, 'it had shared'],
    [{ conditions: [{ ...synced.conditions?.[0], status: 'False', reason: 'ImageNotFound' }] }, false, 'never worked'],
  ])('workedBefore(%j) is %s (%s)', (status, expected, _why) => {
    expect(workedBefore(obj(status as ImageShareStatus | undefined))).toBe(expected);
  });

  it('logs a denial once per object and message, naming the values to set when the object worked before', async () => {
    const lines: Array<[object, string]> = [];
    let decision: Decision = denied;
    const check = reconcileCheck({ decide: async () => decision }, { warn: (o, m) => lines.push([o, m]) });
    await check(obj(synced));
    await check(obj(synced));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[1]).toContain('worked before and is now denied by tenancy baseline');
    expect(lines[0]?.[1]).toContain('tenancy.trustedNamespaces (--trusted-namespaces)');
    expect(lines[0]?.[1]).toContain('tenancy.mode=open');
    expect(lines[0]?.[0]).toMatchObject({ key: 't/x', policy: BASELINE, rule: 'tenancy.trustedNamespaces' });
    // Allowed again, then denied again: a new denial is logged again.
    decision = { allowed: true };
    expect(await check(obj(synced))).toEqual({ allowed: true });
    decision = denied;
    await check(obj());
    expect(lines).toHaveLength(2);
    expect(lines[1]?.[1]).toBe(
      'ImageShare t/x is denied by tenancy baseline (rule tenancy.trustedNamespaces); nothing is written',
    );
  });
});
