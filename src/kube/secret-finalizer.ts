// The Kubernetes side of the credentials-in-use finalizer (ADR 0022): the finalizer's name and the conditional JSON
// Patch that adds or removes it. The controller that decides lives in src/controllers/credentials-in-use/.
import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describeApiError } from './api-errors.ts';
import type { SecretMeta } from './secret-informer.ts';

export const CREDENTIALS_IN_USE_FINALIZER = 'ecs.alicloud.dev/credentials-in-use';

/** Writes the finalizer on a Secret; both calls are conditioned on the resourceVersion the cache showed. */
export interface SecretFinalizerWriter {
  add(secret: SecretMeta): Promise<void>;
  remove(secret: SecretMeta): Promise<void>;
}

/** JSON Patch with a `test` of metadata.resourceVersion, so a stale cache makes the write fail (409/422) and retry. */
export class KubeSecretFinalizers implements SecretFinalizerWriter {
  readonly #api: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CoreV1Api);
  }

  async add(secret: SecretMeta): Promise<void> {
    const finalizers = secret.metadata?.finalizers;
    const op =
      finalizers === undefined || finalizers.length === 0
        ? { op: 'add', path: '/metadata/finalizers', value: [CREDENTIALS_IN_USE_FINALIZER] }
        : { op: 'add', path: '/metadata/finalizers/-', value: CREDENTIALS_IN_USE_FINALIZER };
    await this.#patch(secret, [op]);
  }

  async remove(secret: SecretMeta): Promise<void> {
    const index = (secret.metadata?.finalizers ?? []).indexOf(CREDENTIALS_IN_USE_FINALIZER);
    if (index < 0) return;
    const path = `/metadata/finalizers/${index}`;
    await this.#patch(secret, [
      { op: 'test', path, value: CREDENTIALS_IN_USE_FINALIZER },
      { op: 'remove', path },
    ]);
  }

  async #patch(secret: SecretMeta, ops: object[]): Promise<void> {
    const name = secret.metadata?.name ?? '';
    const namespace = secret.metadata?.namespace ?? '';
    const body = [
      { op: 'test', path: '/metadata/resourceVersion', value: secret.metadata?.resourceVersion ?? '' },
      ...ops,
    ];
    try {
      await this.#api.patchNamespacedSecret(
        { name, namespace, body },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
    } catch (err: unknown) {
      throw new Error(`patching finalizers of Secret ${namespace}/${name} failed: ${describeApiError(err)}`, {
        cause: err,
      });
    }
  }
}
