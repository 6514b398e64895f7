import { describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { leanImageShare } from '../../src/kube/lean-object.ts';

const full = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: {
    name: 'a',
    namespace: 'ns',
    uid: 'u-1',
    generation: 3,
    resourceVersion: '42',
    creationTimestamp: '2026-01-01T00:00:00Z',
    deletionTimestamp: '2026-01-02T00:00:00Z',
    finalizers: ['ecs.alicloud.dev/cleanup'],
    labels: { team: 'x' },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"json"}',
      'ecs.alicloud.dev/reconcile-requested-at': 'now',
    },
    managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { regionId: 'cn-hangzhou', imageId: 'm-1', accounts: ['1234567890123456'] },
  status: {
    observedGeneration: 3,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Synced',
        message: 'ok',
        observedGeneration: 3,
        lastTransitionTime: 't',
      },
    ],
    managedAccounts: ['1234567890123456'],
    managedCommunity: false,
    pendingGrants: ['1234567890123456'],
    sharedAccounts: ['1234567890123456'],
    accounts: [{ id: '1234567890123456', state: 'Shared' }],
    image: { name: 'img', status: 'Available', encrypted: false },
    plan: { grant: [], revoke: [] },
    lastSyncTime: 't',
  },
} as unknown as ImageShare;

describe('leanImageShare: what the informer cache keeps', () => {
  const lean = leanImageShare(full) as unknown as {
    metadata: Record<string, unknown>;
    status: Record<string, unknown>;
    spec: unknown;
  };

  it.each([
    {
      why: 'managedFields are the bulk of a stored object and nobody reads them from the cache',
      field: 'managedFields',
      kept: false,
    },
    { why: 'labels are not read by the controller', field: 'labels', kept: false },
    { why: 'uid and creationTimestamp decide the one-image-one-owner winner', field: 'uid', kept: true },
    { why: 'generation, deletionTimestamp and finalizers drive the event filter', field: 'finalizers', kept: true },
    { why: 'the deletionTimestamp keeps a deleting owner the owner', field: 'deletionTimestamp', kept: true },
  ])('metadata.$field kept=$kept: $why', ({ field, kept }) => {
    expect(field in lean.metadata).toBe(kept);
  });

  it('keeps only the reconcile-request annotation (the event filter reads it), not last-applied-configuration', () => {
    expect(lean.metadata.annotations).toEqual({ 'ecs.alicloud.dev/reconcile-requested-at': 'now' });
  });

  it.each([
    { why: 'the objects gauge reads the Ready condition', field: 'conditions', kept: true },
    { why: 'ownership decisions read what this object manages', field: 'managedAccounts', kept: true },
    { why: 'pending writes must survive in the cached view', field: 'pendingGrants', kept: true },
    { why: 'the observed share list is re-read from the cloud on every pass', field: 'sharedAccounts', kept: false },
    { why: 'per-account outcomes are for users, not the cache', field: 'accounts', kept: false },
    { why: 'the plan is recomputed every pass', field: 'plan', kept: false },
  ])('status.$field kept=$kept: $why', ({ field, kept }) => {
    expect(field in lean.status).toBe(kept);
  });

  it('keeps the spec as it is and leaves the input untouched', () => {
    expect(lean.spec).toBe(full.spec);
    expect((full.metadata as unknown as Record<string, unknown>).managedFields).toBeDefined();
  });

  it('copes with an object without status or annotations', () => {
    const bare = {
      apiVersion: full.apiVersion,
      kind: full.kind,
      metadata: { name: 'b', namespace: 'ns' },
      spec: full.spec,
    } as ImageShare;
    expect(leanImageShare(bare)).toEqual(bare);
  });
});
