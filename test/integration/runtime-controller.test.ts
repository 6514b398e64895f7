// The ImageShare controller's queue against a real apiserver (issue 20 items 4, 6 and 7): what a standby queues,
// which priority restart work and user edits get, and which Secret changes wake the objects that name a Secret.
import { afterEach, describe, expect, it } from '@jest/globals';
import { ImageShareController } from '../../src/controllers/imageshare/controller.ts';
import { ImageShareInformer } from '../../src/kube/imageshare-informer.ts';
import { SecretCredentialsReader } from '../../src/kube/secret-credentials.ts';
import { SecretInformer } from '../../src/kube/secret-informer.ts';
import { currentCallPriority } from '../../src/runtime/call-priority.ts';
import { SpecWatch } from '../../src/runtime/spec-watch.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';
import { adminKubeConfig, imageShareManifest } from './runtime-fixtures.ts';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/**
 * The controller as main.ts wires it, on one namespace, with a reconciler that records each pass (key and call
 * priority) and, when `hold` is set, keeps it in flight until release().
 */
function world(ns: string, opts: { hold: boolean; read?: string } = { hold: false }) {
  const queue = new WorkQueue();
  const reader = new SecretCredentialsReader(adminKubeConfig());
  const calls: Array<{ key: string; priority: string }> = [];
  let releases: Array<() => void> = [];
  const informer = new ImageShareInformer(adminKubeConfig(), {
    namespaces: [ns],
    onKey: (key, change) => controller.onKey(key, change),
    log,
  });
  const secrets = new SecretInformer(adminKubeConfig(), {
    namespaces: [ns],
    onKey: (key, event) => controller.onSecretEvent(key, event),
    log,
  });
  const controller = new ImageShareController({
    cache: informer,
    queue,
    specWatch: new SpecWatch(),
    log,
    concurrency: 1,
    secretDataChanged: (key) => reader.dataChanged(key),
    reconcile: async ({ key }) => {
      calls.push({ key, priority: currentCallPriority() });
      if (opts.read !== undefined) await reader.read(ns, opts.read);
      if (opts.hold) await new Promise<void>((r) => releases.push(r));
      return {};
    },
  });
  const passes = new AbortController();
  let running: Promise<void> | undefined;
  cleanups.push(async () => {
    queue.shutdown();
    passes.abort();
    for (const r of releases.splice(0)) r();
    await running;
    await Promise.all([informer.stop(), secrets.stop()]);
  });
  return {
    queue,
    informer,
    secrets,
    calls,
    start: () => Promise.all([informer.start(), secrets.start()]),
    lead: () => {
      running = controller.run(passes.signal);
    },
    release: () => {
      const held = releases;
      releases = [];
      for (const r of held) r();
    },
  };
}

describe('ImageShare controller queue against a real apiserver', () => {
  it('a standby queues nothing; leading queues what it finds as background, and a user edit goes first', async () => {
    const ns = await createNamespace('rt-ctl-prio');
    const items = Array.from({ length: 12 }, (_, i) => imageShareManifest(ns, `obj-${i}`));
    await applyYaml({ apiVersion: 'v1', kind: 'List', items });
    const w = world(ns, { hold: true });
    await w.start();
    await applyYaml(imageShareManifest(ns, 'late')); // a creation seen while standing by
    await eventually(async () => expect(w.informer.keys()).toHaveLength(13));
    // Why: a standby that queued every key would replay them all at takeover, as urgent (item 7).
    expect({ queued: w.queue.len(), delayed: w.queue.delayed(), inFlight: w.queue.inFlight() }).toEqual({
      queued: 0,
      delayed: 0,
      inFlight: 0,
    });

    w.lead();
    await eventually(async () => expect(w.calls).toHaveLength(1)); // one pass in flight, held
    // Why: restart work must not bury a user's edit behind 3,000 urgent keys (item 4).
    expect(w.calls[0]?.priority).toBe('background');
    expect(w.queue.lenByPriority()).toEqual({ urgent: 0, background: 12 });
    await kubectl(['patch', 'imageshare', 'obj-9', '-n', ns, '--type=merge', '-p', '{"spec":{"accounts":[]}}']);
    await eventually(async () => expect(w.queue.lenByPriority()).toEqual({ urgent: 1, background: 11 }));
    w.release();
    await eventually(async () => expect(w.calls).toHaveLength(2));
    expect(w.calls[1]).toEqual({ key: `${ns}/obj-9`, priority: 'urgent' });
  });

  it('a Secret wakes the objects naming it when its data changes or it is deleted, not on a metadata update', async () => {
    const ns = await createNamespace('rt-ctl-secret');
    await kubectl(['create', 'secret', 'generic', 'creds', '-n', ns, '--from-literal=accessKeyId=id1']);
    await kubectl(['patch', 'secret', 'creds', '-n', ns, '-p', '{"stringData":{"accessKeySecret":"s1"}}']);
    await applyYaml(imageShareManifest(ns, 'user', { credentials: { secretRef: { name: 'creds' } } }));
    const w = world(ns, { hold: false, read: 'creds' });
    await w.start();
    w.lead();
    await eventually(async () => expect(w.calls).toHaveLength(1)); // the takeover pass read the Secret

    // The credentials-in-use finalizer patch (and a label) change resourceVersion, not data: nobody wakes.
    await kubectl(['label', 'secret', 'creds', '-n', ns, 'team=a']);
    const patched = await kubectl([
      ...['patch', 'secret', 'creds', '-n', ns, '--type=merge', '-o', 'jsonpath={.metadata.resourceVersion}'],
      ...['-p', '{"metadata":{"finalizers":["ecs.alicloud.dev/credentials-in-use"]}}'],
    ]);
    await eventually(async () =>
      expect(w.secrets.get(`${ns}/creds`)?.metadata?.resourceVersion).toBe(patched.stdout.trim()),
    );
    await new Promise((r) => setTimeout(r, 1_500)); // room for the GET and digest compare to (wrongly) wake it
    expect(w.calls).toHaveLength(1);

    // New data (a rotated key): the object retries, as background work.
    await kubectl(['patch', 'secret', 'creds', '-n', ns, '-p', '{"stringData":{"accessKeySecret":"s2"}}']);
    await eventually(async () => expect(w.calls).toHaveLength(2));
    expect(w.calls[1]).toEqual({ key: `${ns}/user`, priority: 'background' });

    // Deleted: the object retries (it will report CredentialsNotFound).
    await kubectl(['patch', 'secret', 'creds', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await kubectl(['delete', 'secret', 'creds', '-n', ns]);
    await eventually(async () => expect(w.calls).toHaveLength(3));
    expect(w.calls[2]?.priority).toBe('background');
  });
});
