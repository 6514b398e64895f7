// The reconcile-time half of docs/adr/0024: reads the ImageSharePolicies and the object's namespace labels from the
// apiserver and evaluates them with the same rules as admission (evaluate.ts). Reads are cached for ttlMs, so a pass
// costs at most two GETs per ttl window and a policy edit is seen within ttlMs.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { type ImageSharePolicy, POLICY_PLURAL } from '../api/policy-types.ts';
import { GROUP, type ImageShareSpec, VERSION } from '../api/types.ts';
import { httpStatusOf } from '../kube/api-errors.ts';
import { type Decision, evaluate, type Tenancy } from './evaluate.ts';

export const DEFAULT_POLICY_TTL_MS = 5_000;

interface Cached<T> {
  at: number;
  value: T;
}

export class PolicyReader {
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #tenancy: Tenancy;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #policies: Cached<ImageSharePolicy[]> | undefined;
  readonly #labels = new Map<string, Cached<Record<string, string>>>();

  constructor(kc: KubeConfig, tenancy: Tenancy, opts: { ttlMs?: number; now?: () => number } = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#tenancy = tenancy;
    this.#ttlMs = opts.ttlMs ?? DEFAULT_POLICY_TTL_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** The decision for an ImageShare; throws on API errors (the pass is then retried like any transient failure). */
  async decide(namespace: string, spec: ImageShareSpec): Promise<Decision> {
    const [policies, labels] = await Promise.all([this.#readPolicies(), this.#readLabels(namespace)]);
    return evaluate(spec, { name: namespace, labels }, policies, this.#tenancy);
  }

  #fresh<T>(c: Cached<T> | undefined): c is Cached<T> {
    return c !== undefined && this.#now() - c.at < this.#ttlMs;
  }

  async #readPolicies(): Promise<ImageSharePolicy[]> {
    if (this.#fresh(this.#policies)) return this.#policies.value;
    let items: ImageSharePolicy[];
    try {
      const list = (await this.#custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: POLICY_PLURAL,
      })) as {
        items?: ImageSharePolicy[];
      };
      items = list.items ?? [];
    } catch (err: unknown) {
      // No ImageSharePolicy CRD installed: no policy can exist.
      if (httpStatusOf(err) !== 404) throw err;
      items = [];
    }
    this.#policies = { at: this.#now(), value: items };
    return items;
  }

  async #readLabels(namespace: string): Promise<Record<string, string>> {
    const cached = this.#labels.get(namespace);
    if (this.#fresh(cached)) return cached.value;
    const ns = await this.#core.readNamespace({ name: namespace });
    const value = ns.metadata?.labels ?? {};
    this.#labels.set(namespace, { at: this.#now(), value });
    return value;
  }
}
