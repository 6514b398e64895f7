// Kubernetes Events (events.k8s.io/v1) about ImageShares. Emitting is best-effort: a failure is logged and
// swallowed, because an event is a notification, never a reason to fail or retry a reconcile.
import { EventsV1Api, type KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { describeApiError } from './api-errors.ts';

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

const MAX_NOTE = 1024;
const MAX_SHORT = 128;

export class KubeEventRecorder implements EventRecorder {
  readonly #api: EventsV1Api;
  readonly #instance: string;
  readonly #log: EventLogger;
  #seq = 0n;

  /** `reportingInstance` is this replica's pod name (≤ 128 characters; longer names are cut). */
  constructor(kc: KubeConfig, reportingInstance: string, log: EventLogger) {
    this.#api = kc.makeApiClient(EventsV1Api);
    this.#instance = truncateUtf8(reportingInstance, MAX_SHORT, '');
    this.#log = log;
  }

  async emit(subject: EventSubject, event: EventInput): Promise<void> {
    const { name, namespace } = subject.metadata;
    const now = new V1MicroTime();
    try {
      await this.#api.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: eventName(name, this.#suffix(now)), namespace },
          eventTime: now,
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
        },
      });
    } catch (err: unknown) {
      this.#log.warn(
        { err: describeApiError(err), object: `${namespace}/${name}`, reason: event.reason },
        'failed to emit event',
      );
    }
  }

  #suffix(now: Date): string {
    this.#seq = (this.#seq + 1n) % 1_000_000n;
    return (BigInt(now.getTime()) * 1_000_000n + this.#seq).toString(16);
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
