// PolicyCache (src/policy/policy-cache.ts) on the real apiserver: it judges with the stored ImageSharePolicies (the
// apiserver's defaults included) and the namespace's labels, and an edit reaches it through its watch, with onChange
// naming the namespaces concerned. The policies select only this file's namespaces by a label no other file uses,
// since they are cluster-wide.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { type Affected, PolicyCache } from '../../src/policy/policy-cache.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';
import { adminKubeConfig } from './runtime-fixtures.ts';

const marker = `cache-${randomBytes(3).toString('hex')}`;
const policyName = `${marker}-policy`;
const spec = { regionId: 'cn-hangzhou', imageId: 'm-reader000001', sharePolicy: 'Additive' as const };
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const caches: PolicyCache[] = [];

function cache(tenancy: ConstructorParameters<typeof PolicyCache>[1]['tenancy'], changes: Affected[] = []) {
  const c = new PolicyCache(adminKubeConfig(), { tenancy, log, onChange: (a) => changes.push(a) });
  caches.push(c);
  return c;
}

afterAll(async () => {
  await Promise.all(caches.map((c) => c.stop()));
  await kubectl(['delete', 'imagesharepolicy', policyName, '--ignore-not-found']);
});

describe('PolicyCache', () => {
  it('judges with the stored, defaulted policies and the namespace labels, and sees an edit through its watch', async () => {
    const selected = await createNamespace('cache-selected');
    const other = await createNamespace('cache-other');
    await kubectl(['label', 'namespace', selected, `tenancy-test=${marker}`]);
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageSharePolicy',
      metadata: { name: policyName },
      // operatorIdentity is left to the CRD default (false): the cache must hold the stored, defaulted object.
      spec: { namespaceSelector: { matchLabels: { 'tenancy-test': marker } }, recipients: { accounts: ['2222*'] } },
    });
    const changes: Affected[] = [];
    const policies = cache({ mode: 'open', trustedNamespaces: [] }, changes);
    await policies.start();

    expect(await policies.decide(selected, spec)).toMatchObject({
      allowed: false,
      policy: policyName,
      rule: 'credentials.operatorIdentity',
    });
    expect(await policies.decide(other, spec)).toEqual({ allowed: true });

    await kubectl([
      'patch',
      'imagesharepolicy',
      policyName,
      '--type=merge',
      '-p',
      '{"spec":{"credentials":{"operatorIdentity":true}}}',
    ]);
    // The watch delivers the edit: the namespaces the policy selects are named for a new judgement.
    await eventually(async () => expect(changes.some((a) => a !== 'all' && a.has(selected))).toBe(true));
    expect(await policies.decide(selected, { ...spec, accounts: ['2222000000000001'] })).toEqual({ allowed: true });
    expect(await policies.decide(selected, { ...spec, accounts: ['3333000000000001'] })).toMatchObject({
      allowed: false,
      rule: 'recipients.accounts',
    });
  });

  it('applies the restricted baseline from its tenancy settings', async () => {
    const ns = await createNamespace('cache-baseline');
    const policies = cache({ mode: 'restricted', trustedNamespaces: ['elsewhere'] });
    await policies.start();
    expect(await policies.decide(ns, spec)).toMatchObject({ allowed: false, rule: 'tenancy.trustedNamespaces' });
  });
});
