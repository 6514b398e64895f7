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
import { KubeAccountSetWriter } from '../kube/accountset-writer.ts';
import type { AccountSetRef } from '../fleet/types.ts';
import { AccountSetInUseController } from './accountset/controller.ts';
import type { AccountSetObject } from './accountset/in-use.ts';
import {
  accountSetKey,
  parseAccountSetKey,
  ReferenceIndex,
  referencedSets,
  SetGenerations,
} from './accountset/references.ts';
import { CredentialsInUseController } from './credentials-in-use/controller.ts';
import { ImageShareController } from './imageshare/controller.ts';
import { ImageShareSetController } from './imageshareset/controller.ts';
import { imageShareSetReconciler } from './imageshareset/reconciler.ts';
import { AccountSetInformer, ImageShareSetClient, ImageShareSetInformer } from './imageshareset/set-client.ts';
import { SecretCredentialsReader } from '../kube/secret-credentials.ts';
import { SharedListing } from '../fleet/shared-listing.ts';
import { selectorKeys } from '../fleet/plan.ts';
import type { ImageShareSet } from '../fleet/types.ts';
import { KubeEventRecorder } from '../kube/events.ts';
import { countObjects, imageShareReconciler, operatorCloud } from './imageshare/reconciler.ts';

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
      imageShareSets.onImageShareKey(key);
      const obj = informer.get(key);
      const sets = obj === undefined ? [] : referencedSets(obj.metadata.namespace, obj.spec.accountSetRefs);
      accountSetsInUse.onReferencesChanged(imageShareRefs.update(key, sets));
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
  const cloud = operatorCloud(config, metrics, log);
  // AccountSets and ClusterAccountSets (docs/adr/0028, 0033): a change of one brings back every ImageShareSet and
  // ImageShare that references it (the ImageShares through an index); any event re-checks its in-use finalizer.
  const imageShareRefs = new ReferenceIndex();
  const setRefs = new ReferenceIndex();
  const accountSetSpecs = new SetGenerations();
  const cachedAccountSet = (setKey: string): AccountSetObject | undefined => {
    const { kind, namespace, name } = parseAccountSetKey(setKey);
    return (kind === 'AccountSet' ? accountSetInformer : clusterAccountSetInformer).get(namespace, name);
  };
  const onAccountSet = (kind: AccountSetRef['kind'], namespace: string, name: string): void => {
    const key = accountSetKey(kind, namespace, name);
    accountSetsInUse.onSetKey(key);
    if (!accountSetSpecs.changed(key, cachedAccountSet(key))) return;
    imageShareSets.onAccountSet(kind, namespace, name);
    for (const referrer of imageShareRefs.referrers(key)) imageShares.onKey(referrer, 'input');
  };
  const accountSetInformer = new AccountSetInformer(kc, {
    kind: 'AccountSet',
    plural: 'accountsets',
    namespaces: config.namespaces,
    onChange: onAccountSet,
    log,
  });
  const clusterAccountSetInformer = new AccountSetInformer(kc, {
    kind: 'ClusterAccountSet',
    plural: 'clusteraccountsets',
    namespaces: [],
    onChange: onAccountSet,
    log,
  });
  const reconciler = imageShareReconciler({
    kc,
    config,
    clusterId,
    cache: informer,
    specWatch,
    metrics,
    log,
    policy,
    cloud,
    accountSet: (ref, namespace) =>
      (ref.kind === 'AccountSet' ? accountSetInformer : clusterAccountSetInformer).get(namespace, ref.name),
  });
  const imageShares = new ImageShareController({
    ...config,
    ...reconciler,
    cache: informer,
    queue,
    specWatch,
    log,
    moreCaches: [accountSetInformer, clusterAccountSetInformer],
  });
  const credentialsInUse = new CredentialsInUseController({
    imageShares: informer,
    secrets: secretInformer,
    writer: new KubeSecretFinalizers(kc),
    allowed: (ns) => secretsAllowedIn(secretNamespaces, ns),
    caches: [informer, secretInformer],
    log,
  });
  // ImageShareSet (docs/adr/0027): stamps child ImageShares; their events come back to the set that owns them.
  const setInformer = new ImageShareSetInformer(kc, {
    namespaces: config.namespaces,
    labelSelector: config.watchLabelSelector,
    onKey: (key, initial) => {
      imageShareSets.onSetKey(key, initial);
      const set = setInformer.list().find((s) => `${s.metadata.namespace}/${s.metadata.name}` === key);
      const sets = set === undefined ? [] : referencedSets(set.metadata.namespace, set.spec.accountSetRefs);
      accountSetsInUse.onReferencesChanged(setRefs.update(key, sets));
    },
    log,
  });
  const imageShareSets = new ImageShareSetController({
    keys: () => setInformer.keys(),
    sets: () => setInformer.list(),
    caches: [setInformer, informer, accountSetInformer, clusterAccountSetInformer],
    log,
    concurrency: config.concurrency,
  });
  const setSecrets = new SecretCredentialsReader(kc, config.secretNamespaces);
  const setEvents = new KubeEventRecorder(kc, config.podName, log);
  imageShareSets.bind(
    imageShareSetReconciler({
      client: new ImageShareSetClient(kc),
      cloud,
      readSecretCredentials: (namespace, name) => setSecrets.read(namespace, name),
      now: () => new Date(),
      // Sets due at one wall-clock tick share one listing per (identity, region); short enough to see the next tick's.
      listing: new SharedListing({ now: Date.now }),
      discoveryIntervalMs: config.discoveryIntervalMs,
      accountSet: (ref, namespace) =>
        (ref.kind === 'AccountSet' ? accountSetInformer : clusterAccountSetInformer).get(namespace, ref.name),
      children: imageShareSets.children,
      emit: (set, e) => void setEvents.emit(set, e),
      onDiscovery: metrics.observeSetDiscovery,
      shardLabelKeys: selectorKeys(config.watchLabelSelector),
    }),
  );
  metrics.bindSetChildCounts(() => sumChildren(setInformer.list()));
  const accountSetsInUse = new AccountSetInUseController({
    get: cachedAccountSet,
    referrers: (setKey) => [
      ...imageShareRefs.referrers(setKey).map((k) => `ImageShare ${k}`),
      ...setRefs.referrers(setKey).map((k) => `ImageShareSet ${k}`),
    ],
    writer: new KubeAccountSetWriter(kc),
    now: () => new Date(),
    log,
    caches: [informer, setInformer, accountSetInformer, clusterAccountSetInformer],
  });
  metrics.bindQueue(queue);
  metrics.bindObjectCounts(() => countObjects(informer.list()));
  return {
    informers: [informer, secretInformer, policy, setInformer, accountSetInformer, clusterAccountSetInformer],
    runnables: [imageShares, credentialsInUse, imageShareSets, accountSetsInUse],
    ready: () => informer.synced(),
  };
}

/** The children of every cached set by state, from their status (imageshare_set_children). */
function sumChildren(sets: readonly ImageShareSet[]): { synced: number; failed: number; pending: number } {
  const sum = { synced: 0, failed: 0, pending: 0 };
  for (const s of sets) {
    sum.synced += s.status?.children?.synced ?? 0;
    sum.failed += s.status?.children?.failed ?? 0;
    sum.pending += s.status?.children?.pending ?? 0;
  }
  return sum;
}
