// Kubernetes Events (events.k8s.io/v1) about ImageShares. Emitting is best-effort: a failure is logged and
// swallowed, because an event is a notification, never a reason to fail or retry a reconcile.
//
// Repeats are correlated as client-go's events.k8s.io recorder does (tools/events): events with the same object,
// type, reason, action and reporter within SERIES_WINDOW_MS of the last one are one series. The first repeat patches
// `series` {count: 2} onto the Event already written; later repeats only count in memory, and the count is written
// at most every SERIES_REFRESH_MS and once more when the series ends. A condition flapping between two reasons thus
// keeps two Events whose counts grow, instead of a new Warning on every flip.
import {
  EventsV1Api,
  type EventsV1Event,
  type EventsV1EventSeries,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { type Clock, realClock, type TimerHandle } from '../runtime/clock.ts';
import { describeApiError, httpStatusOf } from './api-errors.ts';

export const REPORTING_CONTROLLER = 'ecs.alicloud.dev/imageshare-operator';

export const EventType = { Normal: 'Normal', Warning: 'Warning' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The object an event is about: any namespaced object with apiVersion, kind and metadata. */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string | undefined; resourceVersion?: string | undefined };
}

export interface EventInput {
  type: EventType;
  /** PascalCase, from the closed reason vocabulary (src/api/reasons.ts). ≤ 128 characters. */
  reason: string;
  /** What the controller did or tried, e.g. Grant, Revoke, Publish, Cleanup, Reconcile. ≤ 128 characters. */
  action: string;
  /** One sentence for humans; truncated to 1024 UTF-8 bytes. Must not contain secrets. */
  note: string;
}

/** Emits events; never throws and never rejects. */
export interface EventRecorder {
  emit(subject: EventSubject, event: EventInput): Promise<void>;
}

export interface EventLogger {
  warn(obj: object, msg: string): void;
}

/** Where events are written: the apiserver (KubeEventSink) or a test double. */
export interface EventSink {
  create(namespace: string, event: EventsV1Event): Promise<void>;
  /** Sets `series` on an existing Event; rejects with an HTTP-404 error when the Event is gone (expired). */
  patchSeries(namespace: string, name: string, series: EventsV1EventSeries): Promise<void>;
}

/** client-go's finishTime: a repeat later than this after the last one starts a new Event. */
export const SERIES_WINDOW_MS = 6 * 60_000;
/** client-go's refreshTime: how often a growing series' count is written. */
export const SERIES_REFRESH_MS = 30 * 60_000;
/** How often open series are checked for a count to write or an end. */
const SWEEP_MS = 60_000;
/** Open series kept in memory; beyond this the least recently seen one is ended early. */
const MAX_SERIES = 4096;

export interface RecorderOptions {
  clock?: Clock;
  windowMs?: number;
  refreshMs?: number;
}

const MAX_NOTE = 1024;
const MAX_SHORT = 128;

interface Series {
  namespace: string;
  /** The Event last written for this key (its name is patched with the count). */
  event: EventsV1Event;
  count: number;
  /** The count the apiserver has. */
  written: number;
  /** A repeat has been seen: from then on counts are written by the sweep, never once per repeat. */
  repeated: boolean;
  lastObserved: number;
  lastWritten: number;
  /** Writes for one key run in order, so a patch never overtakes the create it patches. */
  chain: Promise<void>;
}

/** An EventRecorder that correlates repeats into series (see the file header). */
export class CorrelatingEventRecorder implements EventRecorder {
  readonly #sink: EventSink;
  readonly #instance: string;
  readonly #log: EventLogger;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #refreshMs: number;
  readonly #series = new Map<string, Series>();
  /** Writes not yet settled, for flush(). */
  readonly #pending = new Set<Promise<void>>();
  #sweep: TimerHandle | undefined;
  #seq = 0n;

  /** `reportingInstance` is this replica's pod name (≤ 128 characters; longer names are cut). */
  constructor(sink: EventSink, reportingInstance: string, log: EventLogger, options: RecorderOptions = {}) {
    this.#sink = sink;
    this.#instance = truncateUtf8(reportingInstance, MAX_SHORT, '');
    this.#log = log;
    this.#clock = options.clock ?? realClock;
    this.#windowMs = options.windowMs ?? SERIES_WINDOW_MS;
    this.#refreshMs = options.refreshMs ?? SERIES_REFRESH_MS;
  }

  emit(subject: EventSubject, event: EventInput): Promise<void> {
    const now = this.#clock.now();
    const key = seriesKey(subject, event);
    const open = this.#series.get(key);
    if (open !== undefined && now - open.lastObserved < this.#windowMs) {
      open.count++;
      open.lastObserved = now;
      this.#touch(key, open);
      // Only the first repeat is written at once (it turns the Event into a series); the rest wait for a sweep.
      if (open.repeated) return open.chain;
      open.repeated = true;
      return this.#enqueue(open, () => this.#writeCount(open));
    }
    if (open !== undefined) this.#end(key, open);
    const fresh: Series = {
      namespace: subject.metadata.namespace,
      event: this.#build(subject, event, now),
      count: 1,
      written: 1,
      repeated: false,
      lastObserved: now,
      lastWritten: now,
      chain: SETTLED,
    };
    this.#series.set(key, fresh);
    this.#evictBeyondLimit();
    this.#armSweep();
    return this.#enqueue(fresh, () => this.#create(fresh, event.reason));
  }

  /** Series currently open (correlating repeats). */
  openSeries(): number {
    return this.#series.size;
  }

  /** Writes pending counts and ends every series (e.g. at shutdown); resolves when the writes are done. */
  async flush(): Promise<void> {
    for (const [key, s] of this.#series) this.#end(key, s);
    if (this.#sweep !== undefined) this.#clock.clearTimer(this.#sweep);
    this.#sweep = undefined;
    await Promise.all([...this.#pending]);
  }

  #enqueue(s: Series, write: () => Promise<void>): Promise<void> {
    const next = s.chain.then(write);
    s.chain = next;
    this.#pending.add(next);
    void next.finally(() => {
      this.#pending.delete(next);
      if (s.chain === next) s.chain = SETTLED; // an open series holds no settled promise (one per object, issue 19)
    });
    return next;
  }

  #onSweep(): void {
    this.#sweep = undefined;
    const now = this.#clock.now();
    for (const [key, s] of this.#series) {
      if (now - s.lastObserved >= this.#windowMs) this.#end(key, s);
      else if (s.count > s.written && now - s.lastWritten >= this.#refreshMs)
        this.#enqueue(s, () => this.#writeCount(s));
    }
    this.#armSweep();
  }

  #armSweep(): void {
    if (this.#sweep !== undefined || this.#series.size === 0) return;
    this.#sweep = this.#clock.setTimer(() => this.#onSweep(), Math.min(SWEEP_MS, this.#windowMs));
  }

  /** Forgets a series, writing its final count first if the apiserver does not have it. */
  #end(key: string, s: Series): void {
    this.#series.delete(key);
    if (s.count > s.written) void this.#enqueue(s, () => this.#writeCount(s));
  }

  #touch(key: string, s: Series): void {
    this.#series.delete(key);
    this.#series.set(key, s); // Map order is insertion order: the least recently seen series comes first
  }

  #evictBeyondLimit(): void {
    for (const [key, s] of this.#series) {
      if (this.#series.size <= MAX_SERIES) return;
      this.#end(key, s);
    }
  }

  async #create(s: Series, reason: string): Promise<void> {
    try {
      await this.#sink.create(s.namespace, s.event);
    } catch (err: unknown) {
      this.#log.warn(
        { err: describeApiError(err), object: `${s.namespace}/${s.event.regarding?.name ?? ''}`, reason },
        'failed to emit event',
      );
    }
  }

  /** Writes the count; a failure waits for the next refresh or the series' end, so it cannot repeat per emit. */
  async #writeCount(s: Series): Promise<void> {
    const count = s.count;
    if (count <= s.written) return;
    s.lastWritten = this.#clock.now();
    const series: EventsV1EventSeries = { count, lastObservedTime: new V1MicroTime(s.lastObserved) };
    const name = s.event.metadata?.name ?? '';
    try {
      try {
        await this.#sink.patchSeries(s.namespace, name, series);
      } catch (err: unknown) {
        if (httpStatusOf(err) !== 404) throw err;
        // The Event expired (the apiserver keeps events about an hour): write it anew, with its series.
        s.event = { ...s.event, metadata: { ...s.event.metadata, name: this.#name(s.event.regarding?.name ?? '') } };
        await this.#sink.create(s.namespace, { ...s.event, series });
      }
      s.written = count;
    } catch (err: unknown) {
      this.#log.warn(
        {
          err: describeApiError(err),
          object: `${s.namespace}/${s.event.regarding?.name ?? ''}`,
          reason: s.event.reason,
        },
        'failed to emit event',
      );
    }
  }

  #build(subject: EventSubject, event: EventInput, now: number): EventsV1Event {
    const { name, namespace } = subject.metadata;
    return {
      metadata: { name: this.#name(name), namespace },
      eventTime: new V1MicroTime(now),
      type: event.type,
      reason: truncateUtf8(event.reason, MAX_SHORT, ''),
      action: truncateUtf8(event.action, MAX_SHORT, ''),
      note: truncateUtf8(event.note, MAX_NOTE),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.#instance,
      regarding: {
        apiVersion: subject.apiVersion,
        kind: subject.kind,
        name,
        namespace,
        ...(subject.metadata.uid === undefined ? {} : { uid: subject.metadata.uid }),
        ...(subject.metadata.resourceVersion === undefined
          ? {}
          : { resourceVersion: subject.metadata.resourceVersion }),
      },
    };
  }

  #name(objectName: string): string {
    this.#seq = (this.#seq + 1n) % 1_000_000n;
    return eventName(objectName, (BigInt(this.#clock.now()) * 1_000_000n + this.#seq).toString(16));
  }
}

const SETTLED: Promise<void> = Promise.resolve();

/**
 * The series key: client-go's isomorphic-event key plus the note, since our notes carry facts (which accounts were
 * granted or revoked) that a series must not swallow; a flapping condition repeats the same notes, so it still folds.
 * Kept as a SHA-256 digest: an open series per object is the common case, and the key spelled out repeated the note.
 */
export function seriesKey(subject: EventSubject, event: EventInput): string {
  const m = subject.metadata;
  const spelled = JSON.stringify([
    subject.apiVersion,
    subject.kind,
    m.namespace,
    m.name,
    m.uid ?? '',
    event.type,
    event.reason,
    event.action,
    event.note,
  ]);
  return createHash('sha256').update(spelled).digest('base64');
}

/** Writes events.k8s.io/v1 Events with client-node. */
export class KubeEventSink implements EventSink {
  readonly #api: EventsV1Api;
  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(EventsV1Api);
  }
  async create(namespace: string, event: EventsV1Event): Promise<void> {
    await this.#api.createNamespacedEvent({ namespace, body: event });
  }
  async patchSeries(namespace: string, name: string, series: EventsV1EventSeries): Promise<void> {
    await this.#api.patchNamespacedEvent(
      { name, namespace, body: { series } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

/** The operator's recorder: correlated events written to the apiserver. */
export class KubeEventRecorder extends CorrelatingEventRecorder {
  constructor(kc: KubeConfig, reportingInstance: string, log: EventLogger, options: RecorderOptions = {}) {
    super(new KubeEventSink(kc), reportingInstance, log, options);
  }
}

/** Event names are DNS subdomains: at most 253 characters. */
export const MAX_EVENT_NAME = 253;

/**
 * client-go's "<object>.<hex nanos>" event name, made valid for every object name: an object name may itself be 253
 * characters long, so when the whole would exceed MAX_EVENT_NAME the object part is cut (and any '.' or '-' the cut
 * leaves at its end dropped, so the result stays a DNS subdomain). The event still names the full object in
 * `regarding`; the name only has to be unique, which the suffix (time plus a per-process counter) makes it.
 */
export function eventName(objectName: string, suffix: string): string {
  const room = MAX_EVENT_NAME - suffix.length - 1;
  const prefix = objectName.length <= room ? objectName : objectName.slice(0, room).replace(/[.-]+$/, '');
  return `${prefix}.${suffix}`;
}

/** Cuts `s` to at most `maxBytes` UTF-8 bytes (the apiserver measures Go string length), marking a cut with "…". */
export function truncateUtf8(s: string, maxBytes: number, marker = '…'): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const budget = maxBytes - Buffer.byteLength(marker, 'utf8');
  let used = 0;
  let out = '';
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > budget) break;
    used += n;
    out += ch;
  }
  return out + marker;
}
