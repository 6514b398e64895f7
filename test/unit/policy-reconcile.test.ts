// The reconcile-time check of docs/adr/0024: before any cloud call, a pass asks deps.policy; a denied object is
// Stalled with reason PolicyDenied, names the policy and the rule, and the cloud sees no call at all.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import type { ImageShareSpec } from '../../src/api/types.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { type ReconcileDeps, reconcile } from '../../src/reconcile/reconcile.ts';
import { FakeCloud } from '../support/fake-cloud.ts';
import { FakeStore } from '../support/fake-store.ts';
import { assertKstatusShape } from '../support/safety.ts';

const ref = { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' };
const A = '1111111111111111';
let store: FakeStore;
let cloud: FakeCloud;
let deps: ReconcileDeps;

beforeEach(() => {
  store = new FakeStore();
  cloud = new FakeCloud();
  cloud.addImage(ref);
  deps = {
    store,
    cloud,
    emit: () => {},
    now: () => new Date('2026-12-03T12:00:00Z'),
    random: () => 0,
    defaultResyncMs: 600_000,
    readSecretCredentials: async () => ({ ok: false, message: 'no Secret' }),
    // One policy over every namespace that allows the operator identity but only recipient A.
    policy: async (obj) =>
      evaluate(
        obj.spec,
        { name: obj.metadata.namespace, labels: {} },
        [
          {
            apiVersion: 'ecs.alicloud.dev/v1alpha1',
            kind: 'ImageSharePolicy',
            metadata: { name: 'only-a' },
            spec: { namespaceSelector: {}, credentials: { operatorIdentity: true }, recipients: { accounts: [A] } },
          },
        ],
        { mode: 'open', trustedNamespaces: [] },
      ),
  };
});

async function settle(spec: ImageShareSpec) {
  store.create('share', spec);
  for (let i = 0; i < 4; i++) await reconcile('default', 'share', deps);
  const o = store.must('default', 'share');
  if (o.status) assertKstatusShape(o.status, o.metadata.generation ?? 0);
  return o;
}

describe('reconcile under an ImageSharePolicy', () => {
  it('a denied object is Stalled/PolicyDenied naming the policy and rule, and the cloud sees no call at all', async () => {
    const o = await settle({ ...ref, accounts: [A, '9999999999999999'] });
    const stalled = o.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: Reason.PolicyDenied });
    expect(stalled?.message).toContain('ImageSharePolicy only-a denies rule recipients.accounts');
    expect(cloud.calls).toEqual([]);
    expect(cloud.image(ref).accounts.size).toBe(0);
  });

  it('an allowed object is reconciled as usual', async () => {
    const o = await settle({ ...ref, accounts: [A] });
    expect(o.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
    expect([...cloud.image(ref).accounts.keys()]).toEqual([A]);
  });

  it('without deps.policy nothing is checked (the 0.1 behaviour)', async () => {
    delete deps.policy;
    await settle({ ...ref, accounts: ['9999999999999999'] });
    expect([...cloud.image(ref).accounts.keys()]).toEqual(['9999999999999999']);
  });
});
