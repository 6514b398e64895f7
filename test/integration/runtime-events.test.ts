import { describe, expect, it } from '@jest/globals';
import { EventsV1Api } from '@kubernetes/client-node';
import type { ImageShare } from '../../src/api/types.ts';
import { ImageShareClient } from '../../src/kube/imageshare-client.ts';
import { KubeEventRecorder, REPORTING_CONTROLLER } from '../../src/kube/events.ts';
import { applyYaml, createNamespace } from '../harness/kubectl.ts';
import { adminKubeConfig, imageShareManifest } from './runtime-fixtures.ts';

function capturingLog() {
  const warnings: Array<{ obj: object; msg: string }> = [];
  return { warnings, log: { warn: (obj: object, msg: string) => warnings.push({ obj, msg }) } };
}

async function imageShare(ns: string, name: string): Promise<ImageShare> {
  await applyYaml(imageShareManifest(ns, name));
  const obj = await new ImageShareClient(adminKubeConfig()).get(ns, name);
  if (obj === null) throw new Error('not created');
  return obj;
}

describe('KubeEventRecorder against a real apiserver', () => {
  it('creates valid events.k8s.io/v1 events regarding the object, in its namespace', async () => {
    const ns = await createNamespace('rt-events');
    const obj = await imageShare(ns, 'ev');
    const { warnings, log } = capturingLog();
    const recorder = new KubeEventRecorder(adminKubeConfig(), 'imageshare-operator-abc12', log);
    await recorder.emit(obj, { type: 'Normal', reason: 'Synced', action: 'Grant', note: 'shared with 1 account' });
    await recorder.emit(obj, { type: 'Warning', reason: 'AccountNotFound', action: 'Grant', note: 'x'.repeat(3000) });
    expect(warnings).toEqual([]); // the apiserver's strict validation accepted both

    const list = await adminKubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const events = list.items.sort((a, b) => (a.reason ?? '').localeCompare(b.reason ?? ''));
    expect(events.map((e) => [e.type, e.reason, e.action])).toEqual([
      ['Warning', 'AccountNotFound', 'Grant'],
      ['Normal', 'Synced', 'Grant'],
    ]);
    for (const e of events) {
      expect(e.reportingController).toBe(REPORTING_CONTROLLER);
      expect(e.reportingInstance).toBe('imageshare-operator-abc12');
      expect(e.regarding).toMatchObject({ kind: 'ImageShare', name: 'ev', namespace: ns, uid: obj.metadata.uid });
      expect(e.metadata?.name?.startsWith('ev.')).toBe(true);
      // eventTime is a MicroTime: the create above would have failed with 400 had it carried three digits.
      expect(e.eventTime).toBeDefined();
    }
    const note = events[0]?.note ?? '';
    expect(Buffer.byteLength(note, 'utf8')).toBeLessThanOrEqual(1024); // the apiserver counts bytes
    expect(note.endsWith('…')).toBe(true);
    expect(note.length).toBeGreaterThan(1000);
  });

  it.each([
    ['a 253-character name (the longest an object may have)', `${'a'.repeat(120)}.${'b'.repeat(132)}`],
    ['a 240-character name whose cut would end in a dot', `${'c'.repeat(236)}.${'d'.repeat(3)}`],
  ])('records events for an object with %s (issue #8: they were lost beyond ~236)', async (_why, name) => {
    const ns = await createNamespace('rt-events-long');
    const obj = await imageShare(ns, name);
    const { warnings, log } = capturingLog();
    const recorder = new KubeEventRecorder(adminKubeConfig(), 'pod-1', log);
    await recorder.emit(obj, { type: 'Normal', reason: 'Synced', action: 'Reconcile', note: 'n' });
    await recorder.emit(obj, { type: 'Warning', reason: 'AccessDenied', action: 'Reconcile', note: 'n' });
    expect(warnings).toEqual([]);
    const list = await adminKubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    // Two events in the same millisecond still get two names, and both name the full object.
    expect(list.items.map((e) => e.regarding?.name)).toEqual([name, name]);
    expect(new Set(list.items.map((e) => e.metadata?.name)).size).toBe(2);
  });

  it('a repeated event is one Event whose series counts the repeats (the apiserver accepts the series patch)', async () => {
    const ns = await createNamespace('rt-events-series');
    const obj = await imageShare(ns, 'flappy');
    const { warnings, log } = capturingLog();
    const recorder = new KubeEventRecorder(adminKubeConfig(), 'pod-1', log);
    const denied = { type: 'Warning', reason: 'AccessDenied', action: 'Grant', note: 'n' } as const;
    const synced = { type: 'Normal', reason: 'Synced', action: 'Reconcile', note: 'n' } as const;
    for (let i = 0; i < 3; i++) {
      await recorder.emit(obj, denied);
      await recorder.emit(obj, synced);
    }
    await recorder.flush();
    expect(warnings).toEqual([]);
    const list = await adminKubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const shown = list.items.map((e) => [e.reason, e.series?.count]).sort();
    expect(shown).toEqual([
      ['AccessDenied', 3],
      ['Synced', 3],
    ]);
  });

  it('logs and swallows a failure to emit (namespace does not exist) instead of throwing', async () => {
    const { warnings, log } = capturingLog();
    const recorder = new KubeEventRecorder(adminKubeConfig(), 'pod-1', log);
    const ghost = {
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name: 'g', namespace: 'no-such-namespace-rt' },
    };
    await expect(
      recorder.emit(ghost, { type: 'Normal', reason: 'Synced', action: 'Reconcile', note: 'n' }),
    ).resolves.toBeUndefined();
    expect(warnings.map((w) => w.msg)).toEqual(['failed to emit event']);
    expect(JSON.stringify(warnings)).toContain('HTTP 404');
  });
});
