// The operator's controllers and the informers that feed them, built from the config: what main.ts hands to the
// Manager. Both informers feed both controllers; each controller decides what an event means to it.
import type { Config } from '../config.ts';
import { ImageShareInformer } from '../kube/imageshare-informer.ts';
import type { PooledKubeConfig } from '../kube/kubeconfig.ts';
import { secretsAllowedIn } from '../kube/secret-credentials.ts';
import { KubeSecretFinalizers } from '../kube/secret-finalizer.ts';
import { SecretInformer, secretScope } from '../kube/secret-informer.ts';
import { PolicyCache } from '../policy/policy-cache.ts';
import type { Log } from '../runtime/logger.ts';
import type { Informer, LeaderRunnable } from '../runtime/manager.ts';
import type { OperatorMetrics } from '../runtime/metrics.ts';
import { SpecWatch } from '../runtime/spec-watch.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { CredentialsInUseController } from './credentials-in-use/controller.ts';
import { ImageShareController } from './imageshare/controller.ts';
import { countObjects, imageShareReconciler } from './imageshare/reconciler.ts';

export interface SetupOptions {
  kc: PooledKubeConfig;
  config: Config;
  clusterId: string;
  metrics: OperatorMetrics;
  log: Log;
}

export function setupControllers({ kc, config, clusterId, metrics, log }: SetupOptions): {
  informers: Informer[];
  runnables: LeaderRunnable[];
  /** Ready: the ImageShare cache holds its first LIST. */
  ready: () => boolean;
} {
  const specWatch = new SpecWatch();
  const queue = new WorkQueue({ onReconcile: metrics.observeReconcile });
  const informer = new ImageShareInformer(kc, {
    namespaces: config.namespaces,
    labelSelector: config.watchLabelSelector,
    onKey: (key, change) => {
      imageShares.onKey(key, change);
      credentialsInUse.onImageShareKey(key);
    },
    onRestart: () => metrics.informerRestarted(),
    log,
  });
  const secretNamespaces = secretScope(config.secretNamespaces, config.namespaces);
  const secretInformer = new SecretInformer(kc, {
    namespaces: secretNamespaces,
    onKey: (key, event) => {
      imageShares.onSecretEvent(key, event);
      credentialsInUse.onSecretKey(key);
    },
    log,
  });
  // A policy or namespace-label change judges the ImageShares it concerns again, as new input (docs/adr/0030).
  const policy = new PolicyCache(kc, {
    tenancy: { mode: config.tenancyMode, trustedNamespaces: config.trustedNamespaces },
    log,
    onChange: (affected) => {
      for (const key of informer.keys())
        if (affected === 'all' || affected.has(key.slice(0, key.indexOf('/')))) imageShares.onKey(key, 'input');
    },
  });
  const reconciler = imageShareReconciler({ kc, config, clusterId, cache: informer, specWatch, metrics, log, policy });
  const imageShares = new ImageShareController({ ...config, ...reconciler, cache: informer, queue, specWatch, log });
  const credentialsInUse = new CredentialsInUseController({
    imageShares: informer,
    secrets: secretInformer,
    writer: new KubeSecretFinalizers(kc),
    allowed: (ns) => secretsAllowedIn(secretNamespaces, ns),
    caches: [informer, secretInformer],
    log,
  });
  metrics.bindQueue(queue);
  metrics.bindObjectCounts(() => countObjects(informer.list()));
  return {
    informers: [informer, secretInformer, policy],
    runnables: [imageShares, credentialsInUse],
    ready: () => informer.synced(),
  };
}
