// The credentials-in-use finalizer (ADR 0022): which Secrets must be held, and what the controller writes.
import { describe, expect, it } from '@jest/globals';
import { FINALIZER, type ImageShare } from '../../src/api/types.ts';
import {
  CredentialsInUseController,
  finalizerAction,
  secretNeededBy,
} from '../../src/controllers/credentials-in-use/controller.ts';
import { imageSharesReferring } from '../../src/controllers/imageshare/controller.ts';
import { CREDENTIALS_IN_USE_FINALIZER, type SecretFinalizerWriter } from '../../src/kube/secret-finalizer.ts';
import { type SecretMeta, secretScope } from '../../src/kube/secret-informer.ts';
import { settle } from './fake-clock.ts';

function share(name: string, opts: { secret?: string; cleanup?: boolean; ns?: string } = {}): ImageShare {
  return {
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: opts.ns ?? 'team', ...(opts.cleanup ? { finalizers: [FINALIZER] } : {}) },
    spec: {
      regionId: 'cn-hangzhou',
      imageId: 'm-test00000001',
      ...(opts.secret ? { credentials: { secretRef: { name: opts.secret } } } : {}),
    },
  } as ImageShare;
}

function secret(name: string, opts: { held?: boolean; deleting?: boolean; ns?: string } = {}): SecretMeta {
  return {
    metadata: {
      name,
      namespace: opts.ns ?? 'team',
      resourceVersion: '7',
      ...(opts.held ? { finalizers: [CREDENTIALS_IN_USE_FINALIZER] } : {}),
      ...(opts.deleting ? { deletionTimestamp: new Date() } : {}),
    },
  };
}

describe('secretNeededBy', () => {
  it.each([
    [
      'an ImageShare with a pending cleanup and a secretRef needs that Secret',
      share('a', { secret: 'k', cleanup: true }),
      'team/k',
    ],
    ['without the cleanup finalizer nothing can still need the credentials', share('a', { secret: 'k' }), undefined],
    ['without a secretRef the operator identity is used', share('a', { cleanup: true }), undefined],
  ])('%s', (_why, obj, expected) => {
    expect(secretNeededBy(obj)).toBe(expected);
  });
});

describe('finalizerAction', () => {
  it.each([
    ['needed and not held → add', secret('k'), true, 'add'],
    ['needed and held → nothing', secret('k', { held: true }), true, undefined],
    ['not needed and held → remove, so a pending deletion completes', secret('k', { held: true }), false, 'remove'],
    ['not needed, not held → nothing', secret('k'), false, undefined],
    [
      'needed but already being deleted → nothing (the apiserver refuses new finalizers then)',
      secret('k', { deleting: true }),
      true,
      undefined,
    ],
    ['held and being deleted, no longer needed → remove', secret('k', { held: true, deleting: true }), false, 'remove'],
    ['no such Secret → nothing', undefined, true, undefined],
  ] as const)('%s', (_why, s, needed, expected) => {
    expect(finalizerAction(s, needed)).toBe(expected);
  });
});

describe('imageSharesReferring and secretScope', () => {
  it('finds the ImageShares naming a Secret in the same namespace only', () => {
    const objs = [
      share('a', { secret: 'k' }),
      share('b', { secret: 'other' }),
      share('c', { secret: 'k', ns: 'elsewhere' }),
    ];
    expect(imageSharesReferring(objs, 'team/k')).toEqual(['team/a']);
  });

  it.each([
    ['all allowed, all watched → one cluster-wide watch', 'all', [], 'all'],
    ['all allowed, some watched → the watched ones', 'all', ['a', 'b'], ['a', 'b']],
    ['some allowed, all watched → the allowed ones', ['a'], [], ['a']],
    ['allowed ∩ watched', ['a', 'c'], ['a', 'b'], ['a']],
    ['none allowed → nothing watched', [], [], []],
  ] as const)('%s', (_why, allowed, watched, expected) => {
    expect(secretScope(allowed, watched)).toEqual(expected);
  });
});

describe('CredentialsInUseController', () => {
  function world() {
    const shares = new Map<string, ImageShare>();
    const secrets = new Map<string, SecretMeta>();
    const writes: string[] = [];
    const writer: SecretFinalizerWriter = {
      add: async (s) => {
        writes.push(`add ${s.metadata?.namespace}/${s.metadata?.name}`);
      },
      remove: async (s) => {
        writes.push(`remove ${s.metadata?.namespace}/${s.metadata?.name}`);
      },
    };
    const c = new CredentialsInUseController({
      imageShares: { get: (k) => shares.get(k), list: () => [...shares.values()] },
      secrets: { get: (k) => secrets.get(k), keys: () => [...secrets.keys()] },
      writer,
      log: { info: () => undefined, warn: () => undefined },
      allowed: (ns) => ns === 'team',
    });
    return { shares, secrets, writes, c };
  }

  it('holds a Secret while a cleanup needs it and lets go when the ImageShare loses its finalizer or is gone', async () => {
    const { shares, secrets, writes, c } = world();
    secrets.set('team/k', secret('k'));
    shares.set('team/a', share('a', { secret: 'k', cleanup: true }));
    void c.run();
    await settle();
    expect(writes).toEqual(['add team/k']);
    secrets.set('team/k', secret('k', { held: true }));
    shares.delete('team/a'); // the cleanup finished and the object is gone
    c.onImageShareKey('team/a');
    await settle();
    // Why: the Secret's own deletion (e.g. of the namespace) may be waiting for exactly this.
    expect(writes).toEqual(['add team/k', 'remove team/k']);
    c.queue.shutdown();
  });

  it('re-checks the old Secret when an ImageShare switches to another one', async () => {
    const { shares, secrets, writes, c } = world();
    secrets.set('team/old', secret('old', { held: true }));
    secrets.set('team/new', secret('new'));
    shares.set('team/a', share('a', { secret: 'old', cleanup: true }));
    c.onImageShareKey('team/a');
    void c.run();
    await settle();
    expect(writes).toEqual([]);
    shares.set('team/a', share('a', { secret: 'new', cleanup: true }));
    c.onImageShareKey('team/a');
    await settle();
    expect(writes.sort()).toEqual(['add team/new', 'remove team/old']);
    c.queue.shutdown();
  });

  it('never touches Secrets outside the allowed namespaces', async () => {
    const { shares, secrets, writes, c } = world();
    secrets.set('other/k', secret('k', { ns: 'other' }));
    shares.set('other/a', share('a', { secret: 'k', cleanup: true, ns: 'other' }));
    c.onImageShareKey('other/a');
    void c.run();
    await settle();
    expect(writes).toEqual([]);
    c.queue.shutdown();
  });
});
