import { describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { RECONCILE_REQUESTED_AT, changeOf } from '../../src/kube/imageshare-informer.ts';

const base: ImageShare = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: {
    name: 'a',
    namespace: 'ns',
    generation: 3,
    resourceVersion: '10',
    finalizers: ['ecs.alicloud.dev/cleanup'],
  },
  spec: { regionId: 'cn-hangzhou', imageId: 'm-abcdefgh1' },
};

function edit(fn: (o: ImageShare) => void): ImageShare {
  const o = structuredClone(base);
  o.metadata.resourceVersion = '11';
  fn(o);
  return o;
}

describe('update predicate: which update events wake the controller, and how', () => {
  const rows: Array<{ why: string; after: ImageShare; change: 'input' | 'wake' | undefined }> = [
    {
      why: 'a status-only write (our own) changes nothing we react to',
      after: edit((o) => {
        o.status = { observedGeneration: 3 };
      }),
      change: undefined,
    },
    {
      why: 'a spec change bumps generation',
      after: edit((o) => {
        o.metadata.generation = 4;
      }),
      change: 'input',
    },
    {
      why: 'a label change is not desired state',
      after: edit((o) => {
        o.metadata.labels = { team: 'x' };
      }),
      change: undefined,
    },
    {
      why: 'deletion started: the finalizer must run',
      after: edit((o) => {
        o.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
      }),
      change: 'input',
    },
    {
      why: 'a finalizer change may be our own patch: it wakes an idle key but never cuts short the delay a pass chose',
      after: edit((o) => {
        o.metadata.finalizers = [];
      }),
      change: 'wake',
    },
    {
      why: 'the reconcile-requested-at annotation is the manual trigger',
      after: edit((o) => {
        o.metadata.annotations = { [RECONCILE_REQUESTED_AT]: '1' };
      }),
      change: 'input',
    },
    {
      why: 'other annotations are ignored',
      after: edit((o) => {
        o.metadata.annotations = { note: 'hi' };
      }),
      change: undefined,
    },
  ];
  it.each(rows)('$why', ({ after, change }) => {
    expect(changeOf(base, after)).toBe(change);
  });
});
