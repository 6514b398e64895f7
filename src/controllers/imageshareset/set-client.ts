// The Kubernetes side of the ImageShareSet controller (docs/adr/0027): a supervised informer of the sets (the generic
// one of src/kube/informer.ts) and the API calls a pass makes: GET the set, LIST the ImageShares of its namespace,
// create/patch/delete children, patch the set's finalizers and status. Every write is a create, a merge patch or a
// delete; never an update (PUT), never a child's status.
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { API_VERSION, GROUP, type ImageShare, KIND, PLURAL, VERSION } from '../../api/types.ts';
import {
  type AccountSet,
  type AccountSetRef,
  type ImageShareSet,
  type ImageShareSetStatus,
  SET_KIND,
  SET_PLURAL,
} from '../../fleet/types.ts';
import { describeApiError, httpStatusOf } from '../../kube/api-errors.ts';
import { FIELD_MANAGER } from '../../kube/imageshare-client.ts';
import { RECONCILE_REQUESTED_AT } from '../../kube/imageshare-informer.ts';
import { Informer, type InformerEvent, InformerLayer, keyOf } from '../../kube/informer.ts';
import type { Log } from '../../runtime/logger.ts';

/** An ImageShare as the set controller reads it: with its owner references and labels. */
export type ChildObject = ImageShare & {
  metadata: ImageShare['metadata'] & {
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  };
};

/** Wraps an API failure with what was being done; the cause keeps the status code (never the body). */
function apiError(err: unknown, what: string): Error {
  return new Error(`${what} failed: ${describeApiError(err)}`, { cause: err });
}

/** What a set event is to the controller: new input (spec, deletion, re-creation, the request annotation) or nothing. */
export function setChanged(before: ImageShareSet, after: ImageShareSet): boolean {
  const a = before.metadata;
  const b = after.metadata;
  return (
    a.uid !== b.uid ||
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    a.annotations?.[RECONCILE_REQUESTED_AT] !== b.annotations?.[RECONCILE_REQUESTED_AT]
  );
}

export class ImageShareSetInformer extends InformerLayer<ImageShareSet> {
  readonly name = 'ImageShareSet';
  protected readonly informer: Informer<ImageShareSet>;

  constructor(
    kc: KubeConfig,
    o: {
      namespaces: readonly string[];
      /** --watch-label-selector: only the sets of this shard (their children carry the same labels). */
      labelSelector?: string | undefined;
      onKey: (key: string, initial: boolean) => void;
      log: Log;
    },
  ) {
    super();
    const api = kc.makeApiClient(CustomObjectsApi);
    const selector = o.labelSelector ? { labelSelector: o.labelSelector } : {};
    this.informer = new Informer<ImageShareSet>(kc, {
      kind: SET_KIND,
      namespaces: o.namespaces.length === 0 ? 'all' : o.namespaces,
      ...selector,
      listPage: async (namespace, { limit, continue: token }) => {
        const common = {
          group: GROUP,
          version: VERSION,
          limit,
          ...selector,
          ...(token === undefined ? {} : { _continue: token }),
        };
        return namespace === undefined
          ? await api.listCustomObjectForAllNamespaces({ ...common, resourcePlural: SET_PLURAL })
          : await api.listNamespacedCustomObject({ ...common, namespace, plural: SET_PLURAL });
      },
      watchPath: (namespace) =>
        namespace === undefined
          ? `/apis/${GROUP}/${VERSION}/${SET_PLURAL}`
          : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${SET_PLURAL}`,
      keep: (obj) => obj,
      onEvent: ({ type, obj, old, initial }: InformerEvent<ImageShareSet>) => {
        if (type === 'updated' && old !== undefined && !setChanged(old, obj)) return;
        o.onKey(keyOf(obj), initial);
      },
      log: o.log,
    });
  }

  keys(): string[] {
    return this.informer.keys();
  }

  list(): ImageShareSet[] {
    return this.informer.list();
  }
}

/**
 * A cache of AccountSets (namespaced) or ClusterAccountSets (cluster-scoped; one cluster-wide watch). Every add,
 * update or delete is reported, because each can change what a referring set's children get (docs/adr/0028).
 */
export class AccountSetInformer extends InformerLayer<AccountSet> {
  readonly name: string;
  protected readonly informer: Informer<AccountSet>;

  constructor(
    kc: KubeConfig,
    o: {
      kind: AccountSetRef['kind'];
      plural: string;
      /** Namespaces of a namespaced kind (empty: all); ignored for the cluster-scoped kind. */
      namespaces: readonly string[];
      onChange: (kind: AccountSetRef['kind'], namespace: string, name: string) => void;
      log: Log;
    },
  ) {
    super();
    this.name = o.kind;
    const api = kc.makeApiClient(CustomObjectsApi);
    const cluster = o.kind === 'ClusterAccountSet';
    this.informer = new Informer<AccountSet>(kc, {
      kind: o.kind,
      // Account sets are optional: without their CRDs (an install that predates them) ImageShares still reconcile.
      absentIsEmpty: true,
      namespaces: cluster || o.namespaces.length === 0 ? 'all' : o.namespaces,
      listPage: async (namespace, { limit, continue: token }) => {
        const common = { group: GROUP, version: VERSION, limit, ...(token === undefined ? {} : { _continue: token }) };
        if (cluster) return await api.listClusterCustomObject({ ...common, plural: o.plural });
        return namespace === undefined
          ? await api.listCustomObjectForAllNamespaces({ ...common, resourcePlural: o.plural })
          : await api.listNamespacedCustomObject({ ...common, namespace, plural: o.plural });
      },
      watchPath: (namespace) =>
        namespace === undefined
          ? `/apis/${GROUP}/${VERSION}/${o.plural}`
          : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${o.plural}`,
      keep: (obj) => obj,
      onEvent: ({ obj }) => o.onChange(o.kind, obj.metadata.namespace ?? '', obj.metadata.name),
      log: o.log,
    });
  }

  /** The cached list `name` (in `namespace` for an AccountSet). */
  get(namespace: string, name: string): AccountSet | undefined {
    return this.informer.get(`${this.name === 'ClusterAccountSet' ? '' : namespace}/${name}`);
  }
}

export class ImageShareSetClient {
  readonly #api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
  }

  /** A fresh GET; null when the set does not exist. Throws on other API errors. */
  async getSet(namespace: string, name: string): Promise<ImageShareSet | null> {
    try {
      return (await this.#api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: SET_PLURAL,
        name,
      })) as ImageShareSet;
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return null;
      throw apiError(err, `get ImageShareSet ${namespace}/${name}`);
    }
  }

  /** Every ImageShare in `namespace` (fresh LIST, every page), owner references and labels included. */
  async listImageShares(namespace: string): Promise<ChildObject[]> {
    const items: ChildObject[] = [];
    let token: string | undefined;
    do {
      const page = (await this.#api
        .listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          limit: 500,
          ...(token === undefined ? {} : { _continue: token }),
        })
        .catch((err: unknown) => {
          throw apiError(err, `list ImageShares in ${namespace}`);
        })) as { items?: ChildObject[]; metadata?: { continue?: string } };
      items.push(...(page.items ?? []));
      token = page.metadata?.continue || undefined;
    } while (token !== undefined);
    return items;
  }

  /** Creates the child; 'exists' when the name is taken (a replay after a crash, or someone else's object). */
  async createChild(
    set: ImageShareSet,
    child: { name: string; labels: Record<string, string>; spec: ImageShare['spec'] },
  ): Promise<'created' | 'exists'> {
    const body = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name: child.name,
        namespace: set.metadata.namespace,
        labels: child.labels,
        ownerReferences: [
          {
            apiVersion: API_VERSION,
            kind: SET_KIND,
            name: set.metadata.name,
            uid: set.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: child.spec,
    };
    try {
      await this.#api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: set.metadata.namespace,
        plural: PLURAL,
        body,
        fieldManager: FIELD_MANAGER,
      });
      return 'created';
    } catch (err: unknown) {
      if (httpStatusOf(err) === 409) return 'exists';
      throw apiError(err, `create ImageShare ${set.metadata.namespace}/${child.name}`);
    }
  }

  /** A merge patch of a child; false when it is gone. */
  async patchChild(namespace: string, name: string, patch: object): Promise<boolean> {
    try {
      await this.#api.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: patch, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return true;
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return false;
      throw apiError(err, `patch ImageShare ${namespace}/${name}`);
    }
  }

  /** Deletes a child, pinned to its uid (never a same-named successor); a child already gone is fine. */
  async deleteChild(namespace: string, name: string, uid: string | undefined): Promise<void> {
    try {
      await this.#api.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        ...(uid === undefined ? {} : { body: { preconditions: { uid } } }),
      });
    } catch (err: unknown) {
      const status = httpStatusOf(err);
      if (status === 404 || status === 409) return;
      throw apiError(err, `delete ImageShare ${namespace}/${name}`);
    }
  }

  /** Sets the set's finalizer list, pinned to the resourceVersion read; false on a conflict or when it is gone. */
  async setFinalizers(set: ImageShareSet, finalizers: string[]): Promise<boolean> {
    const body = { metadata: { finalizers, resourceVersion: set.metadata.resourceVersion } };
    try {
      await this.#api.patchNamespacedCustomObject(
        { ...this.#setRef(set), body, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return true;
    } catch (err: unknown) {
      const status = httpStatusOf(err);
      if (status === 404 || status === 409) return false;
      throw apiError(err, `patch finalizers of ImageShareSet ${keyOf(set)}`);
    }
  }

  /** Replaces the set's status (merge patch of /status); a set that is gone is fine. */
  async writeStatus(set: ImageShareSet, status: ImageShareSetStatus): Promise<void> {
    const body = { status: { ...nulls(set.status), ...status } };
    try {
      await this.#api.patchNamespacedCustomObjectStatus(
        { ...this.#setRef(set), body, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return;
      throw apiError(err, `patch status of ImageShareSet ${keyOf(set)}`);
    }
  }

  #setRef(set: ImageShareSet) {
    return {
      group: GROUP,
      version: VERSION,
      namespace: set.metadata.namespace,
      plural: SET_PLURAL,
      name: set.metadata.name,
    };
  }
}

/** Every top-level status field set to null, so a merge patch that lists the new fields removes the old ones. */
function nulls(status: ImageShareSetStatus | undefined): Record<string, null> {
  return Object.fromEntries(Object.keys(status ?? {}).map((k) => [k, null]));
}
