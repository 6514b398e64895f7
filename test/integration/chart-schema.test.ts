// values.schema.json (and the two cross-field checks in templates/_helpers.tpl) reject bad values at
// install/template time, each with a message that names the value and what is wrong with it.
import { describe, expect, it } from '@jest/globals';
import { FULL_VALUES, helm, templateArgs } from '../harness/helm.ts';

async function renderError(set: Record<string, string>): Promise<string> {
  const args = templateArgs({});
  for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
  const r = await helm(args);
  return r.code === 0 ? '' : r.stderr;
}

describe('values.schema.json', () => {
  it('accepts the defaults and the full values', async () => {
    expect((await helm(templateArgs())).code).toBe(0);
    expect((await helm(templateArgs({ valuesFiles: [FULL_VALUES] }))).code).toBe(0);
  });

  it.each([
    {
      why: 'negative replicas make no sense',
      set: { replicaCount: '-1' },
      message: "at '/replicaCount': minimum: got -1, want 0",
    },
    {
      why: 'replicas must be a number, not a word',
      set: { replicaCount: 'two' },
      message: "at '/replicaCount': got string, want integer",
    },
    {
      why: 'a typo in a top-level key must not be silently ignored',
      set: { replicas: '2' },
      message: "additional properties 'replicas' not allowed",
    },
    {
      why: 'the chart never accepts access keys as values',
      set: { 'credentials.accessKeyId': 'LTAI000' },
      message: "at '/credentials': additional properties 'accessKeyId' not allowed",
    },
    {
      why: 'nor the secret half',
      set: { 'credentials.accessKeySecret': 'x' },
      message: "additional properties 'accessKeySecret' not allowed",
    },
    {
      why: 'nor as a plain extra env var',
      set: { 'operator.extraEnv[0].name': 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'operator.extraEnv[0].value': 'x' },
      message: "at '/operator/extraEnv/0': additional properties 'value' not allowed",
    },
    {
      why: 'log levels are a closed set',
      set: { 'operator.logLevel': 'verbose' },
      message: "at '/operator/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error', 'fatal'",
    },
    {
      why: 'durations use Go syntax',
      set: { 'operator.resyncInterval': '10 minutes' },
      message: "at '/operator/resyncInterval': '10 minutes' does not match pattern",
    },
    {
      why: 'concurrency 0 would never reconcile',
      set: { 'operator.concurrency': '0' },
      message: "at '/operator/concurrency': minimum: got 0, want 1",
    },
    {
      why: 'a QPS budget of zero would block every call',
      set: { 'operator.ecsQps': '0' },
      message: "at '/operator/ecsQps': minimum: got 0, want 0.1",
    },
    {
      why: 'the endpoint override is host[:port]; the scheme is ecsProtocol',
      set: { 'operator.ecsEndpoint': 'https://ecs.aliyuncs.com' },
      message: "at '/operator/ecsEndpoint'",
    },
    {
      why: 'only http and https exist',
      set: { 'operator.ecsProtocol': 'ftp' },
      message: "at '/operator/ecsProtocol': value must be one of 'https', 'http'",
    },
    {
      why: 'watched namespaces must be namespace names',
      set: { 'operator.watchNamespaces[0]': 'Team_A' },
      message: "at '/operator/watchNamespaces/0'",
    },
    {
      why: 'RRSA needs both ARNs',
      set: { 'credentials.rrsa.enabled': 'true' },
      message: "at '/credentials/rrsa/roleArn': '' does not match pattern '^acs:ram::[0-9]+:role/.+$'",
    },
    {
      why: 'a role ARN has a fixed shape',
      set: { 'credentials.rrsa.roleArn': 'arn:aws:iam::1:role/x' },
      message: "at '/credentials/rrsa/roleArn'",
    },
    {
      why: 'the removed rbac.secretAccess says what replaced it',
      set: { 'rbac.secretAccess': 'cluster' },
      message: 'rbac.secretAccess was removed',
    },
    {
      why: 'Secret namespaces must be namespace names',
      set: { 'secretRefAccess.namespaces[0]': 'Team_A' },
      message: "at '/secretRefAccess/namespaces/0'",
    },
    {
      why: 'the graceful shutdown timeout is the grace period minus 5 s, so the period needs room',
      set: { terminationGracePeriodSeconds: '5' },
      message: "at '/terminationGracePeriodSeconds': minimum: got 5, want 10",
    },
    {
      why: 'restricted PSS: the root filesystem stays read-only',
      set: { 'securityContext.readOnlyRootFilesystem': 'false' },
      message: "at '/securityContext/readOnlyRootFilesystem': value must be true",
    },
    {
      why: 'restricted PSS: no privilege escalation',
      set: { 'securityContext.allowPrivilegeEscalation': 'true' },
      message: "at '/securityContext/allowPrivilegeEscalation': value must be false",
    },
    {
      why: 'restricted PSS: never root',
      set: { 'podSecurityContext.runAsNonRoot': 'false' },
      message: "at '/podSecurityContext/runAsNonRoot': value must be true",
    },
    {
      why: 'restricted PSS: no added capabilities',
      set: { 'securityContext.capabilities.add[0]': 'NET_ADMIN' },
      message: "at '/securityContext/capabilities/add'",
    },
    {
      why: 'restricted PSS: seccomp stays on',
      set: { 'podSecurityContext.seccompProfile.type': 'Unconfined' },
      message: "at '/podSecurityContext/seccompProfile/type'",
    },
    { why: 'a digest is sha256:<64 hex>', set: { 'image.digest': 'latest' }, message: "at '/image/digest'" },
    {
      why: 'a Secret namespace the operator does not watch would never be used',
      set: { 'operator.watchNamespaces[0]': 'a', 'secretRefAccess.namespaces[0]': 'b' },
      message: 'secretRefAccess.namespaces lists b, which is not in operator.watchNamespaces',
    },
    {
      why: 'cluster-wide access and a namespace list contradict each other',
      set: { 'secretRefAccess.clusterWide': 'true', 'secretRefAccess.namespaces[0]': 'b' },
      message: 'secretRefAccess.clusterWide=true already covers every namespace',
    },
  ])('rejects: $why', async ({ set, message }) => {
    const err = await renderError(set);
    expect(err).toContain(message);
  });
});

describe('values documentation', () => {
  it('every key in values.yaml is in the README values table', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const dir = new URL('../../charts/imageshare-operator/', import.meta.url);
    const values = parse(await readFile(new URL('values.yaml', dir), 'utf8')) as Record<string, unknown>;
    const readme = await readFile(new URL('README.md', dir), 'utf8');
    // First-column cells such as "`a.b.x` / `y`" document a.b.x and, as shorthand, its sibling a.b.y.
    const documented = new Set<string>();
    for (const row of readme.matchAll(/^\| ([^|]+) \|/gm)) {
      const keys = [...(row[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
      const parent = keys[0]?.includes('.') ? keys[0].slice(0, keys[0].lastIndexOf('.') + 1) : '';
      for (const [i, k] of keys.entries()) documented.add(i > 0 && !k.includes('.') ? parent + k : k);
    }
    const missing: string[] = [];
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        const path = prefix + k;
        if (documented.has(path)) continue;
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
          walk(v as Record<string, unknown>, `${path}.`);
        else missing.push(path);
      }
    };
    walk(values, '');
    expect(missing).toEqual([]);
  });
});
