import { describe, expect, it } from '@jest/globals';
import { type ImageShare, type ImageShareStatus, type ObjectMeta, STATUS_FIELDS } from '../../src/api/types.ts';
import { KEPT_STATUS_FIELDS, leanImageShare } from '../../src/kube/lean-object.ts';

// What the apiserver sends: ObjectMeta plus fields the operator's type does not declare (managedFields). A variable
// of a wider type is assignable to ObjectMeta without a cast, so the fixture stays checked field by field.
const wireMetadata = {
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
};
const metadata: ObjectMeta = wireMetadata;

// Every status field set, so each row below sees a present value.
const status: Required<ImageShareStatus> = {
  observedGeneration: 3,
  conditions: [
    { type: 'Ready', status: 'True', reason: 'Synced', message: 'ok', observedGeneration: 3, lastTransitionTime: 't' },
  ],
  image: { name: 'img', status: 'Available', encrypted: false },
  community: false,
  sharedAccounts: ['1234567890123456'],
  sharedAccountCount: 1,
  managedAccounts: ['1234567890123456'],
  managedCommunity: false,
  pendingWrites: [{ action: 'Grant', account: '6543210987654321', since: '2026-01-01T00:00:00Z' }],
  accounts: [{ id: '1234567890123456', state: 'Shared' }],
  plan: { grant: [], revoke: [] },
  lastSyncTime: 't',
  grantIdentity: 'secret:image-owner:0123456789ab',
  managedSince: { '1234567890123456': '2026-01-01T00:00:00Z' },
  installation: 'imageshare-system.imageshare-operator',
};

const full: ImageShare = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata,
  spec: { regionId: 'cn-hangzhou', imageId: 'm-1', accounts: ['1234567890123456'] },
  status,
};

describe('leanImageShare: what the informer cache keeps', () => {
  const lean = leanImageShare(full);

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

  const statusRows: Array<{ why: string; field: keyof ImageShareStatus; kept: boolean }> = [
    { why: 'the objects gauge reads the Ready condition', field: 'conditions', kept: true },
    { why: 'the event filter compares it with the generation', field: 'observedGeneration', kept: true },
    { why: 'ownership decisions read what this object manages', field: 'managedAccounts', kept: true },
    { why: 'a published image stays this object’s to unpublish', field: 'managedCommunity', kept: true },
    {
      why: 'unconfirmed writes count as ownership, so they must survive in the cached view',
      field: 'pendingWrites',
      kept: true,
    },
    {
      why: 'deletion cleanup compares it with the identity it reads with, so it belongs to the ownership record',
      field: 'grantIdentity',
      kept: true,
    },
    {
      why: 'who shared a managed account last (its SharedTime) is part of the ownership record',
      field: 'managedSince',
      kept: true,
    },
    {
      why: 'an object another installation reconciles is left alone, decided from the cached status too',
      field: 'installation',
      kept: true,
    },
    // The reconcile reads the object from the cache (no GET) and compares its new status with the cached one: a field
    // the cache dropped would look changed, and every pass would write the status again.
    { why: 'the no-change check compares the share list with the cached one', field: 'sharedAccounts', kept: true },
    { why: 'a printer-column count, compared like every other field', field: 'sharedAccountCount', kept: true },
    { why: 'the observed community flag is compared by the no-change check', field: 'community', kept: true },
    { why: 'image details are compared by the no-change check', field: 'image', kept: true },
    { why: 'per-account outcomes are compared by the no-change check', field: 'accounts', kept: true },
    { why: 'the plan is compared by the no-change check', field: 'plan', kept: true },
    { why: 'the sync time is compared by the no-change check', field: 'lastSyncTime', kept: true },
  ];
  it.each(statusRows)('status.$field kept=$kept: $why', ({ field, kept }) => {
    expect(lean.status !== undefined && field in lean.status).toBe(kept);
    if (kept) expect(lean.status?.[field]).toEqual(status[field]);
  });

  it('decides every status field of the CRD, and keeps only fields that exist', () => {
    expect(statusRows.map((r) => r.field).sort()).toEqual(Object.keys(STATUS_FIELDS).sort());
    for (const k of KEPT_STATUS_FIELDS) expect(Object.keys(STATUS_FIELDS)).toContain(k);
  });

  it('keeps the spec as it is and leaves the input untouched', () => {
    expect(lean.spec).toEqual(full.spec);
    expect(wireMetadata.managedFields).toBeDefined();
    expect(full.status).toBe(status);
    expect(Object.keys(status)).toHaveLength(Object.keys(STATUS_FIELDS).length);
  });

  it('copes with an object without status or annotations', () => {
    const bare: ImageShare = {
      apiVersion: full.apiVersion,
      kind: full.kind,
      metadata: { name: 'b', namespace: 'ns' },
      spec: full.spec,
    };
    expect(leanImageShare(bare)).toEqual(bare);
  });
});
