// The LeaseStore of src/runtime/leader-election.ts over a real coordination.k8s.io/v1 Lease, with client-go
// LeaseLock's semantics: update() is a PUT of the object last read/written, so it carries that resourceVersion
// and fails with 409 when anyone else wrote in between. Each call carries the elector's deadline signal into the
// HTTP request, and an answer that comes after the signal aborted is not remembered.
import {
  ApiException,
  CoordinationV1Api,
  type ConfigurationOptions,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import { httpStatusOf } from './api-errors.ts';
import { LeaseConflictError, type LeaseRecord, type LeaseStore } from '../runtime/leader-election.ts';

export class KubeLeaseStore implements LeaseStore {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;
  #last: V1Lease | undefined;

  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#namespace = namespace;
    this.#name = name;
  }

  describe(): string {
    return `lease ${this.#namespace}/${this.#name}`;
  }

  async get(signal: AbortSignal): Promise<LeaseRecord | null> {
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, withSignal(signal));
    } catch (err: unknown) {
      if (!signal.aborted && httpStatusOf(err) === 404) {
        this.#last = undefined;
        return null;
      }
      throw wrap(err, `read ${this.describe()}`);
    }
    this.#remember(lease, signal, 'read');
    return toRecord(lease);
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<void> {
    let lease: V1Lease;
    try {
      lease = await this.#api.createNamespacedLease(
        {
          namespace: this.#namespace,
          body: { metadata: { name: this.#name, namespace: this.#namespace }, spec: toSpec(record) },
        },
        withSignal(signal),
      );
    } catch (err: unknown) {
      throw wrap(err, `create ${this.describe()}`);
    }
    this.#remember(lease, signal, 'create');
  }

  async update(record: LeaseRecord, signal: AbortSignal): Promise<void> {
    const last = this.#last;
    if (last === undefined) throw new LeaseConflictError(`${this.describe()} was not read before update`);
    let lease: V1Lease;
    try {
      lease = await this.#api.replaceNamespacedLease(
        {
          name: this.#name,
          namespace: this.#namespace,
          body: { ...last, spec: { ...last.spec, ...toSpec(record) } },
        },
        withSignal(signal),
      );
    } catch (err: unknown) {
      throw wrap(err, `update ${this.describe()}`);
    }
    this.#remember(lease, signal, 'update');
  }

  /** Keeps the version an answer carries, unless the answer came after the caller's deadline (it is discarded). */
  #remember(lease: V1Lease, signal: AbortSignal, what: string): void {
    if (signal.aborted) throw new Error(`${what} ${this.describe()}: answer after the deadline discarded`);
    this.#last = lease;
  }
}

/** Per-request options that hand `signal` to fetch, so a request past its deadline is cancelled. */
function withSignal(signal: AbortSignal): ConfigurationOptions<ObservableMiddleware> {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (ctx) => new Observable(Promise.resolve(ctx)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

function toRecord(lease: V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    // Read back as strings (the deserializer does not revive MicroTime); they are passed back unchanged.
    acquireTime: s.acquireTime,
    renewTime: s.renewTime,
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

function toSpec(r: LeaseRecord): NonNullable<V1Lease['spec']> {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
    ...(r.acquireTime === undefined ? {} : { acquireTime: microTime(r.acquireTime) }),
    ...(r.renewTime === undefined ? {} : { renewTime: microTime(r.renewTime) }),
  };
}

/** The apiserver needs exactly six fraction digits: a plain Date (three) is rejected with 400. */
function microTime(t: Date | string): V1MicroTime {
  if (t instanceof V1MicroTime) return t;
  // A string read from the apiserver already has six digits; the serializer passes it through untouched.
  if (typeof t === 'string') return t as unknown as V1MicroTime;
  return new V1MicroTime(t.getTime());
}

function wrap(err: unknown, what: string): Error {
  const status = httpStatusOf(err);
  if (status === 409) return new LeaseConflictError(`${what}: conflict`, { cause: err });
  const detail = err instanceof ApiException ? `HTTP ${err.code}` : err instanceof Error ? err.message : String(err);
  return new Error(`${what} failed: ${detail}`, { cause: err });
}
