// The ImageShare reconciler as the runtime sees it: the domain's reconcile() over the Kubernetes and cloud adapters,
// its answer mapped to a Result (result.ts), and the metrics a pass feeds.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ImageShare } from '../../api/types.ts';
import { createEcsImageSharingFactory } from '../../cloud/ecs-factory.ts';
import type { ImageSharingFactory } from '../../cloud/port.ts';
import type { Config } from '../../config.ts';
import { HELD, resolveAccounts } from '../../fleet/accounts.ts';
import type { AccountSet, AccountSetRef } from '../../fleet/types.ts';
import { KubeEventRecorder } from '../../kube/events.ts';
import { ImageShareClient } from '../../kube/imageshare-client.ts';
import type { ImageShareCache } from '../../kube/imageshare-informer.ts';
import { reconcileStore, type StoreCache } from '../../kube/reconcile-store.ts';
import { SecretCredentialsReader } from '../../kube/secret-credentials.ts';
import { type PolicySource, reconcileCheck } from '../../policy/reconcile-check.ts';
import { operatorIdentityOf } from '../../reconcile/identity.ts';
import { type ReconcileDeps, reconcile } from '../../reconcile/reconcile.ts';
import type { Log } from '../../runtime/logger.ts';
import type { OperatorMetrics } from '../../runtime/metrics.ts';
import type { Reconciler } from '../../runtime/reconciler.ts';
import type { SpecWatch } from '../../runtime/spec-watch.ts';
import { FileCredentials, withOperatorKeys } from './operator-credentials.ts';
import { toResult } from './result.ts';

const EVENT_ACTIONS: Record<string, string> = {
  Granted: 'Grant',
  Revoked: 'Revoke',
  Published: 'Publish',
  Unpublished: 'Unpublish',
};

export interface ImageShareReconcilerOptions {
  kc: KubeConfig;
  config: Config;
  clusterId: string;
  cache: Pick<ImageShareCache, 'claimants' | 'get'> & StoreCache;
  specWatch: SpecWatch;
  metrics: OperatorMetrics;
  log: Log;
  /** The tenancy rules (docs/adr/0024, 0030): asked before any cloud call. */
  policy: PolicySource;
  /** The process's ECS client factory (operatorCloud). */
  cloud: ImageSharingFactory;
  /** The cached AccountSet (in `namespace`) or ClusterAccountSet a reference names (docs/adr/0033). */
  accountSet?: (ref: AccountSetRef, namespace: string) => AccountSet | undefined;
}

/**
 * Builds the reconciler over its adapters (the ImageShare API, the cache's claim index, Secrets, Events and ECS), and
 * the Secret data check that shares the reader's memory of what passes last read.
 */
export function imageShareReconciler({
  kc,
  config,
  clusterId,
  cache,
  specWatch,
  metrics,
  log,
  policy,
  cloud,
  accountSet,
}: ImageShareReconcilerOptions): { reconcile: Reconciler; secretDataChanged: (key: string) => Promise<boolean> } {
  const watched = new Set(config.namespaces);
  const secrets = new SecretCredentialsReader(kc, config.secretNamespaces);
  const recorder = new KubeEventRecorder(kc, config.podName, log);
  const deps: ReconcileDeps = {
    store: reconcileStore(
      new ImageShareClient(kc),
      (regionId, imageId) => cache.claimants(regionId, imageId),
      config.namespaces,
      cache,
    ),
    cloud,
    now: () => new Date(),
    random: Math.random,
    defaultResyncMs: config.resyncIntervalMs,
    confirmationWindowMs: config.confirmationWindowMs,
    maxWritesPerPass: config.maxWritesPerPass,
    // A pass in flight stops writing to ECS as soon as the cache shows a newer spec than the one it read.
    specSuperseded: (namespace, name, generation) => specWatch.signalFor(`${namespace}/${name}`, generation),
    specReleased: (namespace, name, signal) => specWatch.release(`${namespace}/${name}`, signal),
    // The owner tag on each image (ADR 0008); a tag from a namespace this installation does not watch is foreign.
    claims: { clusterId, watches: (ns) => watched.size === 0 || watched.has(ns), installation: config.installationId },
    // Recorded in each status: an installation whose --namespaces overlap this one's leaves those objects alone.
    installation: config.installationId,
    // The operator's own identity, recorded for objects without spec.credentials (cleanup checks it at deletion).
    operatorIdentity: operatorIdentityOf(process.env),
    emit: (obj: ImageShare, e) => void recorder.emit(obj, { ...e, action: EVENT_ACTIONS[e.reason] ?? 'Reconcile' }),
    readSecretCredentials: (namespace, name) => secrets.read(namespace, name),
    // A denied object is Stalled/PolicyDenied before any cloud call; what it granted before stays (reported).
    policy: reconcileCheck(policy, log),
    // spec.accountSetRefs from the account-set caches; a set that is not there stops the pass (docs/adr/0033).
    ...(accountSet === undefined
      ? {}
      : {
          accountSets: (obj: ImageShare) =>
            resolveAccounts(obj.spec, (ref) => accountSet(ref, obj.metadata.namespace), HELD.imageShare),
        }),
  };
  return {
    reconcile: async ({ namespace, name }, signal) => {
      const result = await reconcile(namespace, name, deps, signal);
      if (result.tagFallback) metrics.ownershipTagFallback();
      return toResult(result);
    },
    secretDataChanged: (key) => secrets.dataChanged(key),
  };
}

/**
 * The process's one ECS client factory: every controller calls ECS through it, so one rate budget per (account,
 * region, action) covers the ImageShare passes and the ImageShareSet discovery together, and both see --sts-endpoint
 * and --credentials-dir.
 */
export function operatorCloud(config: Config, metrics: OperatorMetrics, log: Log): ImageSharingFactory {
  return operatorKeys(
    config,
    log,
    createEcsImageSharingFactory({
      ...(config.ecsEndpoint ? { endpoint: config.ecsEndpoint } : {}),
      protocol: config.ecsProtocol,
      timeoutMs: config.ecsTimeoutMs,
      qps: config.ecsQps,
      burst: config.ecsBurst,
      onCall: (e) => metrics.observeEcsCall(e),
      // spec.credentials.roleArn (AssumeRole) and RRSA (AssumeRoleWithOIDC): at --sts-endpoint when given.
      role: {
        ...(config.stsEndpoint ? { sts: { endpoint: config.stsEndpoint, protocol: config.stsProtocol } } : {}),
        ...(config.rrsa === undefined ? {} : { rrsa: config.rrsa }),
      },
    }),
  );
}

/** With --credentials-dir, objects without spec.credentials use the keys in those files, re-read after a rotation. */
function operatorKeys(config: Config, log: Log, factory: ImageSharingFactory): ImageSharingFactory {
  if (config.credentialsDir === undefined) return factory;
  return withOperatorKeys(factory, new FileCredentials(config.credentialsDir, { log }));
}

/** Rows of the imageshare_objects gauge, computed from the cache when Prometheus scrapes. */
export function countObjects(objects: readonly ImageShare[]) {
  const counts = new Map<string, { ready: 'True' | 'False' | 'Unknown'; reason: string; count: number }>();
  for (const o of objects) {
    const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
    const row = { ready: ready?.status ?? 'Unknown', reason: ready?.reason ?? 'None' } as const;
    const key = `${row.ready}/${row.reason}`;
    const cur = counts.get(key) ?? { ...row, count: 0 };
    cur.count++;
    counts.set(key, cur);
  }
  return [...counts.values()];
}
