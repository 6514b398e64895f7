import { describe, expect, it } from '@jest/globals';
import type { EventsV1Event, EventsV1EventSeries } from '@kubernetes/client-node';
import {
  CorrelatingEventRecorder,
  type EventInput,
  type EventSink,
  type EventSubject,
  SERIES_REFRESH_MS,
  SERIES_WINDOW_MS,
  seriesKey,
} from '../../src/kube/events.ts';
import { FakeClock } from './fake-clock.ts';

/** The apiserver's Events, by name, and every write made to it. */
class FakeSink implements EventSink {
  readonly events = new Map<string, EventsV1Event>();
  readonly writes: Array<{ op: 'create' | 'patch'; name: string; reason: string; count?: number }> = [];
  failNext: Error | null = null;
  async create(_namespace: string, event: EventsV1Event): Promise<void> {
    this.#maybeFail();
    const name = event.metadata?.name ?? '';
    this.writes.push({ op: 'create', name, reason: event.reason ?? '', ...countOf(event.series) });
    this.events.set(name, structuredClone(event));
  }
  async patchSeries(_namespace: string, name: string, series: EventsV1EventSeries): Promise<void> {
    this.#maybeFail();
    const e = this.events.get(name);
    if (e === undefined) throw Object.assign(new Error('not found'), { code: 404 });
    this.writes.push({ op: 'patch', name, reason: e.reason ?? '', count: series.count });
    e.series = series;
  }
  /** Events about `reason`, with the count each shows (1 when it has no series). */
  shown(reason: string): number[] {
    return [...this.events.values()].filter((e) => e.reason === reason).map((e) => e.series?.count ?? 1);
  }
  #maybeFail(): void {
    const err = this.failNext;
    this.failNext = null;
    if (err !== null) throw err;
  }
}

function countOf(series: EventsV1EventSeries | undefined): { count?: number } {
  return series === undefined ? {} : { count: series.count };
}

const obj: EventSubject = {
  apiVersion: 'ecs.alicloud.dev/v1alpha1',
  kind: 'ImageShare',
  metadata: { name: 'share', namespace: 'ns', uid: 'u-1' },
};
const denied: EventInput = { type: 'Warning', reason: 'AccessDenied', action: 'Grant', note: 'denied' };
const synced: EventInput = { type: 'Normal', reason: 'Synced', action: 'Reconcile', note: 'ok' };

function recorder() {
  const clock = new FakeClock();
  const sink = new FakeSink();
  const warnings: string[] = [];
  const r = new CorrelatingEventRecorder(sink, 'pod-1', { warn: (_o, msg) => warnings.push(msg) }, { clock });
  return { clock, sink, warnings, r };
}

describe('CorrelatingEventRecorder (client-go event series)', () => {
  it('a condition flapping between two reasons for two hours keeps two Events whose counts grow, not a Warning per flip', async () => {
    const { clock, sink, r } = recorder();
    let flips = 0;
    for (let t = 0; t < 2 * 3_600_000; t += 10_000) {
      void r.emit(obj, flips % 2 === 0 ? denied : synced);
      flips++;
      await clock.advance(10_000);
    }
    await r.flush();
    expect(sink.writes.filter((w) => w.op === 'create').map((w) => w.reason)).toEqual(['AccessDenied', 'Synced']);
    // Per Event: the first repeat, one refresh per 30 minutes, the final count.
    expect(sink.writes.length).toBeLessThanOrEqual(2 * (1 + 1 + (2 * 3_600_000) / SERIES_REFRESH_MS + 1));
    expect(sink.shown('AccessDenied')).toEqual([flips / 2]);
    expect(sink.shown('Synced')).toEqual([flips / 2]);
  });

  it('two identical emits make one Event with a series of two (the second patches the first)', async () => {
    const { sink, r } = recorder();
    await r.emit(obj, denied);
    await r.emit(obj, denied);
    expect(sink.writes.map((w) => [w.op, w.count])).toEqual([
      ['create', undefined],
      ['patch', 2],
    ]);
    expect(sink.shown('AccessDenied')).toEqual([2]);
  });

  it('a growing series is written once per refresh period, and its last count when it ends', async () => {
    const { clock, sink, r } = recorder();
    for (let i = 0; i < 10; i++) {
      void r.emit(obj, denied);
      await clock.advance(60_000);
    }
    expect(sink.shown('AccessDenied')).toEqual([2]); // 10 emits in 10 minutes: no refresh due yet
    for (let i = 0; i < 25; i++) {
      void r.emit(obj, denied);
      await clock.advance(60_000);
    }
    expect(sink.shown('AccessDenied')).toEqual([31]); // refreshed 30 minutes after the first repeat: 31 seen by then
    await clock.advance(SERIES_WINDOW_MS + 60_000); // quiet for longer than the window: the series ends
    expect(sink.shown('AccessDenied')).toEqual([35]);
  });

  it('a repeat after the window is a new Event', async () => {
    const { clock, sink, r } = recorder();
    await r.emit(obj, denied);
    await clock.advance(SERIES_WINDOW_MS);
    await r.emit(obj, denied);
    expect(sink.shown('AccessDenied')).toEqual([1, 1]);
  });

  it.each([
    {
      why: 'another object is another series',
      other: { ...obj, metadata: { ...obj.metadata, name: 'other', uid: 'u-2' } },
      input: denied,
    },
    { why: 'another reason is another series', other: obj, input: { ...denied, reason: 'ImageNotFound' } },
    { why: 'another type is another series', other: obj, input: { ...denied, type: 'Normal' as const } },
    { why: 'another action is another series', other: obj, input: { ...denied, action: 'Revoke' } },
  ])('$why', async ({ other, input }) => {
    const { sink, r } = recorder();
    await r.emit(obj, denied);
    await r.emit(other, input);
    expect(sink.writes.map((w) => w.op)).toEqual(['create', 'create']);
  });

  it('a different note with the same reason is an Event of its own: notes carry facts (which account) a count would hide', async () => {
    const { sink, r } = recorder();
    await r.emit(obj, denied);
    await r.emit(obj, { ...denied, note: 'denied again, differently' });
    expect(sink.shown('AccessDenied')).toEqual([1, 1]);
    expect([...sink.events.values()].map((e) => e.note)).toEqual(['denied', 'denied again, differently']);
  });

  it('when the Event to patch has expired, the series is written as a new Event carrying its count', async () => {
    const { sink, r } = recorder();
    await r.emit(obj, denied);
    sink.events.clear(); // the apiserver's event TTL passed
    await r.emit(obj, denied);
    expect(sink.writes.map((w) => [w.op, w.count])).toEqual([
      ['create', undefined],
      ['create', 2],
    ]);
  });

  it('a failed write is logged and swallowed, and not retried on every repeat: the count is written when the series ends', async () => {
    const { clock, sink, warnings, r } = recorder();
    await r.emit(obj, denied);
    sink.failNext = new Error('apiserver unreachable');
    await expect(r.emit(obj, denied)).resolves.toBeUndefined();
    expect(warnings).toEqual(['failed to emit event']);
    for (let i = 0; i < 5; i++) await r.emit(obj, denied);
    expect(sink.writes).toHaveLength(1); // the create only
    await clock.advance(SERIES_WINDOW_MS + 60_000);
    expect(sink.shown('AccessDenied')).toEqual([7]);
  });

  it('forgets ended series, so memory does not grow with every object ever seen', async () => {
    const { clock, r } = recorder();
    for (let i = 0; i < 50; i++) {
      await r.emit({ ...obj, metadata: { ...obj.metadata, name: `o${i}`, uid: `u${i}` } }, denied);
    }
    expect(r.openSeries()).toBe(50);
    await clock.advance(SERIES_WINDOW_MS + 60_000);
    expect(r.openSeries()).toBe(0);
    expect(clock.pending()).toBe(0); // no sweep timer left running either
  });
});

// The key an open series is kept under: one per object that had an event in the window, so it is a fixed-size digest
// (issue 19), and still tells apart every field the correlation compares.
describe('seriesKey', () => {
  const long: EventInput = { ...synced, note: `Shared with ${'1234567890123456, '.repeat(50)}and more.` };
  const rows: Array<{ why: string; subject: EventSubject; event: EventInput; same: boolean }> = [
    { why: 'the same object and event: one series', subject: obj, event: synced, same: true },
    {
      why: 'another note (other accounts granted) is another series',
      subject: obj,
      event: { ...synced, note: 'no' },
      same: false,
    },
    { why: 'another reason is another series', subject: obj, event: { ...synced, reason: 'Other' }, same: false },
    { why: 'another action is another series', subject: obj, event: { ...synced, action: 'Grant' }, same: false },
    { why: 'another type is another series', subject: obj, event: { ...synced, type: 'Warning' }, same: false },
    {
      why: 'a re-created object (another uid) is another series',
      subject: { ...obj, metadata: { ...obj.metadata, uid: 'u-2' } },
      event: synced,
      same: false,
    },
    {
      why: 'another object of the same name in another namespace is another series',
      subject: { ...obj, metadata: { ...obj.metadata, namespace: 'other' } },
      event: synced,
      same: false,
    },
    {
      why: 'a quote in a name is another name (the fields are JSON-encoded before hashing, not run together)',
      subject: { ...obj, metadata: { ...obj.metadata, name: 'share"' } },
      event: synced,
      same: false,
    },
  ];
  it.each(rows)('$why', ({ subject, event, same }) => {
    expect(seriesKey(subject, event) === seriesKey(obj, synced)).toBe(same);
  });

  it('is as short for a long note as for a short one', () => {
    expect(seriesKey(obj, long).length).toBe(seriesKey(obj, synced).length);
    expect(seriesKey(obj, long).length).toBeLessThanOrEqual(44);
  });
});
