// PolicyReader (src/policy/policy-reader.ts) on the real apiserver: it reads the stored ImageSharePolicies (with the
// apiserver's defaults) and the namespace's labels, and sees a policy edit once its cache expires. The policies
// select only this file's namespaces by a label no other file uses, since they are cluster-wide.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PolicyReader } from '../../src/policy/policy-reader.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';
import { adminKubeConfig } from './runtime-fixtures.ts';

const marker = `reader-${randomBytes(3).toString('hex')}`;
const policyName = `${marker}-policy`;
const spec = { regionId: 'cn-hangzhou', imageId: 'm-reader000001', sharePolicy: 'Additive' as const };

afterAll(async () => {
  await kubectl(['delete', 'imagesharepolicy', policyName, '--ignore-not-found']);
});

describe('PolicyReader', () => {
  it('evaluates the stored policies against the namespace labels, and sees an edit after its ttl', async () => {
    const selected = await createNamespace('reader-selected');
    const other = await createNamespace('reader-other');
    await kubectl(['label', 'namespace', selected, `tenancy-test=${marker}`]);
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageSharePolicy',
      metadata: { name: policyName },
      // operatorIdentity is left to the CRD default (false): the reader must see the stored, defaulted object.
      spec: { namespaceSelector: { matchLabels: { 'tenancy-test': marker } }, recipients: { accounts: ['2222*'] } },
    });
    let now = 0;
    const reader = new PolicyReader(
      adminKubeConfig(),
      { mode: 'open', trustedNamespaces: [] },
      { ttlMs: 1_000, now: () => now },
    );

    expect(await reader.decide(selected, spec)).toMatchObject({
      allowed: false,
      policy: policyName,
      rule: 'credentials.operatorIdentity',
    });
    expect(await reader.decide(other, spec)).toEqual({ allowed: true });

    await kubectl([
      'patch',
      'imagesharepolicy',
      policyName,
      '--type=merge',
      '-p',
      '{"spec":{"credentials":{"operatorIdentity":true}}}',
    ]);
    // Within the ttl the cached policy still answers; after it, the edit counts.
    expect(await reader.decide(selected, spec)).toMatchObject({ allowed: false });
    now = 1_000;
    expect(await reader.decide(selected, { ...spec, accounts: ['2222000000000001'] })).toEqual({ allowed: true });
    expect(await reader.decide(selected, { ...spec, accounts: ['3333000000000001'] })).toMatchObject({
      allowed: false,
      rule: 'recipients.accounts',
    });
  });

  it('applies the restricted baseline from its tenancy settings', async () => {
    const ns = await createNamespace('reader-baseline');
    const reader = new PolicyReader(adminKubeConfig(), { mode: 'restricted', trustedNamespaces: ['elsewhere'] });
    expect(await reader.decide(ns, spec)).toMatchObject({ allowed: false, rule: 'tenancy.trustedNamespaces' });
  });
});
