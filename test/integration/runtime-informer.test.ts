import { afterAll, describe, expect, it } from '@jest/globals';
import { ImageShareClient } from '../../src/kube/imageshare-client.ts';
import { ImageShareInformer, RECONCILE_REQUESTED_AT } from '../../src/kube/informer.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';
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
    await kubectl(['patch', 'imageshare', 'one', '-n', ns, '--type=merge', '-p', '{"spec":{"accounts":["2234567890123456"]}}']);
    await eventually(async () => expect(rec.keys).toHaveLength(2));

    // A label change is neither: filtered. The reconcile-requested-at annotation is the manual trigger: enqueued.
    await kubectl(['label', 'imageshare', 'one', '-n', ns, 'team=x']);
    await kubectl(['annotate', 'imageshare', 'one', '-n', ns, `${RECONCILE_REQUESTED_AT}=now-1`]);
    await eventually(async () => expect(rec.keys).toHaveLength(3));
    expect(informer.get(key)?.metadata.labels?.team).toBe('x'); // the label event did arrive, and was filtered

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
    await kubectl(['patch', 'imageshare', 'fin', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}']);
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
    await informer.start(); // resolves although the LIST was forbidden
    expect(informer.synced()).toBe(false);
    await eventually(async () => expect(restarts).toBeGreaterThanOrEqual(2)); // it keeps trying
    expect(informer.synced()).toBe(false);

    await kubectl(['create', 'role', 'ishare-reader', '-n', ns, '--verb=get,list,watch', '--resource=imageshares.ecs.alicloud.dev']);
    await kubectl(['create', 'rolebinding', 'ishare-reader', '-n', ns, '--role=ishare-reader', `--user=${user}`]);
    await eventually(async () => expect(informer.synced()).toBe(true));
    expect(rec.keys).toEqual([`${ns}/early`]);
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
});
