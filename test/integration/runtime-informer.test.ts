import { afterAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { ImageShareClient } from '../../src/kube/imageshare-client.ts';
import { ImageShareInformer, RECONCILE_REQUESTED_AT } from '../../src/kube/imageshare-informer.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';
import { type CountingRelay, countingRelay, through } from './counting-relay.ts';
import { adminKubeConfig, imageShareManifest, impersonatingKubeConfig } from './runtime-fixtures.ts';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const started: ImageShareInformer[] = [];

afterAll(async () => {
  await Promise.all(started.map((i) => i.stop()));
});

/** Records keys the informer enqueues; `since(n)` returns those after the first n. */
function recorder() {
  const keys: string[] = [];
  return { keys, onKey: (k: string) => keys.push(k) };
}

describe('ImageShareInformer against a real apiserver', () => {
  it('enqueues create, spec update, annotation request and delete, but not status-only writes', async () => {
    const ns = await createNamespace('rt-informer');
    const rec = recorder();
    const informer = new ImageShareInformer(adminKubeConfig(), { namespaces: [ns], onKey: rec.onKey, log });
    started.push(informer);
    await informer.start();
    expect(await informer.waitForSync(30_000)).toBe(true);
    const key = `${ns}/one`;

    await applyYaml(imageShareManifest(ns, 'one'));
    await eventually(async () => expect(rec.keys).toEqual([key]));
    expect(informer.get(key)?.spec.regionId).toBe('cn-hangzhou');
    expect(informer.keys()).toEqual([key]);

    // A status write (what the controller itself does) bumps resourceVersion but not generation: filtered.
    const client = new ImageShareClient(adminKubeConfig());
    const fresh = await client.get(ns, 'one');
    if (fresh === null) throw new Error('object vanished');
    const written = await client.patchStatus(fresh, { observedGeneration: 1 });
    await eventually(async () =>
      expect(informer.get(key)?.metadata.resourceVersion).toBe(written?.metadata.resourceVersion),
    );
    expect(rec.keys).toEqual([key]);

    // A spec change bumps generation: enqueued.
    await kubectl([
      'patch',
      'imageshare',
      'one',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"accounts":["2234567890123456"]}}',
    ]);
    await eventually(async () => expect(rec.keys).toHaveLength(2));

    // A label change is neither: filtered. The reconcile-requested-at annotation is the manual trigger: enqueued.
    await kubectl(['label', 'imageshare', 'one', '-n', ns, 'team=x']);
    const labelled = await client.get(ns, 'one');
    await eventually(async () =>
      expect(informer.get(key)?.metadata.resourceVersion).toBe(labelled?.metadata.resourceVersion),
    ); // the label event did arrive, and was filtered
    await kubectl(['annotate', 'imageshare', 'one', '-n', ns, `${RECONCILE_REQUESTED_AT}=now-1`]);
    await eventually(async () => expect(rec.keys).toHaveLength(3));

    await kubectl(['delete', 'imageshare', 'one', '-n', ns, '--wait=false']);
    await eventually(async () => expect(rec.keys).toHaveLength(4));
    expect(informer.get(key)).toBeUndefined();
    expect(rec.keys.every((k) => k === key)).toBe(true);
  });

  it('a finalizer added or deletion started wakes the controller (both are lifecycle changes)', async () => {
    const ns = await createNamespace('rt-informer-fin');
    const rec = recorder();
    const informer = new ImageShareInformer(adminKubeConfig(), { namespaces: [ns], onKey: rec.onKey, log });
    started.push(informer);
    await informer.start();
    await applyYaml(imageShareManifest(ns, 'fin'));
    await eventually(async () => expect(rec.keys).toHaveLength(1));
    await kubectl([
      'patch',
      'imageshare',
      'fin',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/hold"]}}',
    ]);
    await eventually(async () => expect(rec.keys).toHaveLength(2));
    await kubectl(['delete', 'imageshare', 'fin', '-n', ns, '--wait=false']);
    await eventually(async () => expect(informer.get(`${ns}/fin`)?.metadata.deletionTimestamp).toBeDefined());
    expect(rec.keys).toHaveLength(3);
    await kubectl(['patch', 'imageshare', 'fin', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await eventually(async () => expect(informer.get(`${ns}/fin`)).toBeUndefined());
  });

  it('restarts after list errors (403) with backoff and syncs once access is granted', async () => {
    const ns = await createNamespace('rt-informer-rbac');
    const user = `informer-${ns}`;
    await applyYaml(imageShareManifest(ns, 'early'));
    let restarts = 0;
    const rec = recorder();
    const informer = new ImageShareInformer(impersonatingKubeConfig(user), {
      namespaces: [ns],
      onKey: rec.onKey,
      log,
      initialBackoffMs: 100,
      maxBackoffMs: 400,
      onRestart: () => {
        restarts++;
      },
    });
    started.push(informer);
    let startResolved = false;
    const starting = informer.start().then(() => {
      startResolved = true;
    });
    await eventually(async () => expect(restarts).toBeGreaterThanOrEqual(2)); // it keeps trying
    expect(informer.synced()).toBe(false);
    expect(startResolved).toBe(false); // start() waits for the first good LIST: workers must not run on an empty cache

    await kubectl([
      'create',
      'role',
      'ishare-reader',
      '-n',
      ns,
      '--verb=get,list,watch',
      '--resource=imageshares.ecs.alicloud.dev',
    ]);
    await kubectl(['create', 'rolebinding', 'ishare-reader', '-n', ns, '--role=ishare-reader', `--user=${user}`]);
    await starting;
    expect(informer.synced()).toBe(true);
    expect(rec.keys).toEqual([`${ns}/early`]); // start() resolved with the cache already filled
    // After the restart the watch is live: a new object arrives.
    await applyYaml(imageShareManifest(ns, 'late'));
    await eventually(async () => expect(rec.keys).toContain(`${ns}/late`));
  });

  it('with no namespaces configured, watches all namespaces', async () => {
    const ns1 = await createNamespace('rt-informer-all');
    const ns2 = await createNamespace('rt-informer-all');
    const rec = recorder();
    const informer = new ImageShareInformer(adminKubeConfig(), { namespaces: [], onKey: rec.onKey, log });
    started.push(informer);
    await informer.start();
    expect(await informer.waitForSync(30_000)).toBe(true);
    await applyYaml(imageShareManifest(ns1, 'a'));
    await applyYaml(imageShareManifest(ns2, 'b'));
    await eventually(async () => expect(rec.keys).toEqual(expect.arrayContaining([`${ns1}/a`, `${ns2}/b`])));
    expect(informer.get(`${ns2}/b`)?.metadata.namespace).toBe(ns2);
  });

  it('start() rejects when the informer is stopped before its first LIST (nobody waits forever)', async () => {
    const ns = await createNamespace('rt-informer-stop');
    const informer = new ImageShareInformer(impersonatingKubeConfig(`nobody-${ns}`), {
      namespaces: [ns],
      onKey: () => undefined,
      log,
      initialBackoffMs: 100,
    });
    const starting = informer.start();
    await new Promise((r) => setTimeout(r, 300));
    await informer.stop();
    await expect(starting).rejects.toThrow(/stopped before its first LIST/);
  });

  it('caches lean objects: no managedFields, no last-applied annotation, no labels; the whole status', async () => {
    const ns = await createNamespace('rt-informer-lean');
    const informer = new ImageShareInformer(adminKubeConfig(), { namespaces: [ns], onKey: () => undefined, log });
    started.push(informer);
    await informer.start();
    await applyYaml({
      ...imageShareManifest(ns, 'lean'),
      metadata: { name: 'lean', namespace: ns, labels: { team: 'a' }, annotations: { note: 'x'.repeat(2000) } },
    });
    const client = new ImageShareClient(adminKubeConfig());
    const fresh = await client.get(ns, 'lean');
    if (fresh === null) throw new Error('object vanished');
    expect(fresh.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeDefined();
    const ready = {
      type: 'Ready',
      status: 'True',
      reason: 'Synced',
      message: 'ok',
      observedGeneration: 1,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    } as const;
    const written = await client.patchStatus(fresh, {
      observedGeneration: 1,
      conditions: [ready],
      sharedAccounts: ['1234567890123456'],
      managedAccounts: ['1234567890123456'],
      lastSyncTime: '2026-01-01T00:00:00Z',
    });
    const key = `${ns}/lean`;
    await eventually(async () =>
      expect(informer.get(key)?.metadata.resourceVersion).toBe(written?.metadata.resourceVersion),
    );
    const cached = informer.get(key) as unknown as Record<string, Record<string, unknown>>;
    expect(Object.keys(cached.metadata ?? {}).sort()).toEqual(
      ['creationTimestamp', 'generation', 'name', 'namespace', 'resourceVersion', 'uid'].sort(),
    );
    // The whole status: the reconcile reads the object from the cache and compares its new status with it (issue 19).
    expect(cached.status).toEqual({
      observedGeneration: 1,
      conditions: [ready],
      sharedAccounts: ['1234567890123456'],
      managedAccounts: ['1234567890123456'],
      lastSyncTime: '2026-01-01T00:00:00Z',
    });
    expect(cached.spec).toEqual(fresh.spec);
    // The manual trigger annotation survives (the event filter reads it); others do not.
    await kubectl(['annotate', 'imageshare', 'lean', '-n', ns, `${RECONCILE_REQUESTED_AT}=now-2`]);
    await eventually(async () =>
      expect(informer.get(key)?.metadata.annotations).toEqual({ [RECONCILE_REQUESTED_AT]: 'now-2' }),
    );
  });

  it('indexes objects by (regionId, imageId): claimants() answers the duplicate check without a scan', async () => {
    const ns = await createNamespace('rt-informer-claims');
    const informer = new ImageShareInformer(adminKubeConfig(), { namespaces: [ns], onKey: () => undefined, log });
    started.push(informer);
    const first = imageShareManifest(ns, 'first');
    const imageId = first.spec.imageId;
    await applyYaml(first);
    await informer.start(); // the LIST fills the index
    expect(informer.claimants('cn-hangzhou', imageId).map((o) => o.metadata.name)).toEqual(['first']);
    await applyYaml(imageShareManifest(ns, 'second', { imageId })); // the WATCH fills it too
    await applyYaml(imageShareManifest(ns, 'other'));
    await eventually(async () =>
      expect(
        informer
          .claimants('cn-hangzhou', imageId)
          .map((o) => o.metadata.name)
          .sort(),
      ).toEqual(['first', 'second']),
    );
    expect(informer.claimants('cn-beijing', imageId)).toEqual([]); // the region is part of the key
    await kubectl(['delete', 'imageshare', 'first', '-n', ns]);
    await eventually(async () =>
      expect(informer.claimants('cn-hangzhou', imageId).map((o) => o.metadata.name)).toEqual(['second']),
    );
  });

  it('after an apiserver outage the watch comes back by itself and delivers what changed meanwhile', async () => {
    const ns = await createNamespace('rt-informer-outage');
    const server = adminKubeConfig().getCurrentCluster()?.server ?? '';
    const relay: CountingRelay = await countingRelay(server);
    const rec = recorder();
    const informer = new ImageShareInformer(
      through(adminKubeConfig(), relay.url, () => new KubeConfig()),
      {
        namespaces: [ns],
        onKey: rec.onKey,
        log,
      },
    );
    started.push(informer);
    try {
      await informer.start();
      relay.outage();
      await applyYaml(imageShareManifest(ns, 'during-outage')); // kubectl talks to the apiserver directly
      await new Promise((r) => setTimeout(r, 8_000)); // long enough for the backoff to grow several steps
      const restoredAt = Date.now();
      relay.restore();
      await eventually(async () => expect(rec.keys).toContain(`${ns}/during-outage`), {
        timeoutMs: 20_000,
        intervalMs: 50,
      });
      // A figure, not an assertion: the backoff is capped at 5 s, so this stays within a few seconds.
      process.stdout.write(`informer caught up ${Date.now() - restoredAt} ms after the outage ended\n`);
    } finally {
      await informer.stop();
      await relay.close();
    }
  });
});
