import { describe, expect, it } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { KubeLeaseStore } from '../../src/kube/lease-store.ts';
import { createNamespace } from '../harness/kubectl.ts';
import { adminKubeConfig } from './runtime-fixtures.ts';

const record = { holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 };

describe('KubeLeaseStore hands the deadline signal to the HTTP request', () => {
  it('a create whose deadline already passed is not sent: no Lease appears', async () => {
    const ns = await createNamespace('rt-lease-signal');
    const store = new KubeLeaseStore(adminKubeConfig(), ns, 'l');
    await expect(store.create(record, AbortSignal.abort())).rejects.toThrow();
    const api = adminKubeConfig().makeApiClient(CoordinationV1Api);
    const list = await api.listNamespacedLease({ namespace: ns });
    expect(list.items).toEqual([]);
    // With a live signal the same calls work, and an update goes over the version read.
    const live = new AbortController().signal;
    await store.create(record, live);
    expect(await store.get(live)).toMatchObject({ holderIdentity: 'a' });
    await store.update({ ...record, holderIdentity: 'b' }, live);
    expect(await store.get(live)).toMatchObject({ holderIdentity: 'b' });
  });
});
