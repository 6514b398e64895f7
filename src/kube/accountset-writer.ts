// The Kubernetes side of the accountset-in-use controller (docs/adr/0033): the finalizer as a JSON Patch that `test`s
// the cached resourceVersion (a stale cache fails with 409/422 and retries instead of clobbering another writer's
// finalizer), and the status as a merge patch of /status. Namespaced AccountSets and cluster-scoped ClusterAccountSets.
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/types.ts';
import type { AccountSetWriter } from '../controllers/accountset/controller.ts';
import {
  ACCOUNT_SET_IN_USE_FINALIZER,
  type AccountSetObject,
  type AccountSetStatus,
} from '../controllers/accountset/in-use.ts';
import { describeApiError, httpStatusOf } from './api-errors.ts';
import { FIELD_MANAGER } from './imageshare-client.ts';

export class KubeAccountSetWriter implements AccountSetWriter {
  readonly #api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
  }

  async addFinalizer(set: AccountSetObject): Promise<void> {
    const finalizers = set.metadata.finalizers ?? [];
    const op =
      finalizers.length === 0
        ? { op: 'add', path: '/metadata/finalizers', value: [ACCOUNT_SET_IN_USE_FINALIZER] }
        : { op: 'add', path: '/metadata/finalizers/-', value: ACCOUNT_SET_IN_USE_FINALIZER };
    await this.#patch(set, [op], 'add the in-use finalizer to');
  }

  async removeFinalizer(set: AccountSetObject): Promise<void> {
    const index = (set.metadata.finalizers ?? []).indexOf(ACCOUNT_SET_IN_USE_FINALIZER);
    if (index < 0) return;
    const path = `/metadata/finalizers/${index}`;
    await this.#patch(
      set,
      [
        { op: 'test', path, value: ACCOUNT_SET_IN_USE_FINALIZER },
        { op: 'remove', path },
      ],
      'remove the in-use finalizer from',
    );
  }

  async writeStatus(set: AccountSetObject, status: AccountSetStatus): Promise<void> {
    const params = { ...this.#ref(set), body: { status }, fieldManager: FIELD_MANAGER };
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    try {
      if (set.metadata.namespace)
        await this.#api.patchNamespacedCustomObjectStatus({ ...params, namespace: set.metadata.namespace }, options);
      else await this.#api.patchClusterCustomObjectStatus(params, options);
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return;
      throw new Error(
        `writing the status of ${set.metadata.namespace ? `AccountSet ${set.metadata.namespace}/` : 'ClusterAccountSet '}${set.metadata.name} failed: ${describeApiError(err)}`,
        { cause: err },
      );
    }
  }

  async #patch(set: AccountSetObject, ops: object[], what: string): Promise<void> {
    const body = [{ op: 'test', path: '/metadata/resourceVersion', value: set.metadata.resourceVersion ?? '' }, ...ops];
    const options = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    try {
      if (set.metadata.namespace)
        await this.#api.patchNamespacedCustomObject(
          { ...this.#ref(set), namespace: set.metadata.namespace, body },
          options,
        );
      else await this.#api.patchClusterCustomObject({ ...this.#ref(set), body }, options);
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return;
      throw new Error(
        `could not ${what} ${set.metadata.namespace ? `AccountSet ${set.metadata.namespace}/` : 'ClusterAccountSet '}${set.metadata.name}: ${describeApiError(err)}`,
        { cause: err },
      );
    }
  }

  #ref(set: AccountSetObject) {
    return {
      group: GROUP,
      version: VERSION,
      plural: set.metadata.namespace ? 'accountsets' : 'clusteraccountsets',
      name: set.metadata.name,
    };
  }
}
