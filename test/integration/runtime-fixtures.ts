// Shared setup for the runtime integration suites (runtime-*.test.ts): client-node KubeConfigs for the test
// control plane and ImageShare manifests.
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, type ImageShare, KIND } from '../../src/api/types.ts';
import { testKubeconfig } from '../harness/env.ts';

/** The admin (system:masters) kubeconfig of the test control plane. */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testKubeconfig());
  return kc;
}

/**
 * The admin credentials impersonating `user`, who has no permissions until RBAC grants some: a way to make the
 * apiserver answer 403 on demand without issuing new certificates.
 */
export function impersonatingKubeConfig(user: string): KubeConfig {
  const admin = adminKubeConfig();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    users: admin.users.map((u) => ({ ...u, impersonateUser: user })),
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
  return kc;
}

let imageSeq = 0;

/** A valid ImageShare manifest with a unique image ID. */
export function imageShareManifest(namespace: string, name: string, extra: Partial<ImageShare['spec']> = {}) {
  imageSeq++;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec: {
      regionId: 'cn-hangzhou',
      imageId: `m-runtime${process.pid}x${imageSeq}`,
      accounts: ['1234567890123456'],
      ...extra,
    },
  };
}
