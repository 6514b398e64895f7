// The LeaseStore of src/kube/leader-election.ts over a real coordination.k8s.io/v1 Lease, with client-go
// LeaseLock's semantics: update() is a PUT of the object last read/written, so it carries that resourceVersion
// and fails with 409 when anyone else wrote in between.
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
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

  async get(): Promise<LeaseRecord | null> {
    try {
      this.#last = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace });
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) {
        this.#last = undefined;
        return null;
      }
      throw wrap(err, `read ${this.describe()}`);
    }
    return toRecord(this.#last);
  }

  async create(record: LeaseRecord): Promise<void> {
    try {
      this.#last = await this.#api.createNamespacedLease({
        namespace: this.#namespace,
        body: { metadata: { name: this.#name, namespace: this.#namespace }, spec: toSpec(record) },
      });
    } catch (err: unknown) {
      throw wrap(err, `create ${this.describe()}`);
    }
  }

  async update(record: LeaseRecord): Promise<void> {
    const last = this.#last;
    if (last === undefined) throw new LeaseConflictError(`${this.describe()} was not read before update`);
    try {
      this.#last = await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: { ...last, spec: { ...last.spec, ...toSpec(record) } },
      });
    } catch (err: unknown) {
      throw wrap(err, `update ${this.describe()}`);
    }
  }
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
