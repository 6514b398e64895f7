#!/usr/bin/env node
// Composition root: read config, build the adapters, start the controller. No logic lives here.
import { createEcsImageSharingFactory } from './cloud/ecs-factory.ts';
import { isCliCommand, runCli } from './cli/commands.ts';
import { ConfigError, helpText, loadConfig } from './config.ts';
import { KubeEventRecorder } from './kube/events.ts';
import { readClusterId } from './kube/cluster-id.ts';
import { ImageShareClient } from './kube/imageshare-client.ts';
import { ImageShareInformer } from './kube/informer.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { LeaderElector } from './runtime/leader-election.ts';
import { KubeLeaseStore } from './kube/lease-store.ts';
import { reconcileStore } from './kube/reconcile-store.ts';
import { CredentialsNotFoundError, SecretCredentialsReader, secretsAllowedIn } from './kube/secret-credentials.ts';
import { CredentialsInUseController, imageSharesReferring, KubeSecretFinalizers } from './kube/secret-finalizer.ts';
import { SecretInformer, secretScope } from './kube/secret-informer.ts';
import { toResult } from './controllers/imageshare/result.ts';
import { reconcile } from './reconcile/reconcile.ts';
import { runController } from './runtime/controller.ts';
import { waitForCacheSync } from './runtime/cache-sync.ts';
import { startProbeServer } from './runtime/http-server.ts';
import { createLogger } from './runtime/logger.ts';
import { OperatorMetrics } from './runtime/metrics.ts';
import { SpecWatch } from './runtime/spec-watch.ts';
import { startResync } from './runtime/resync.ts';
import { onLeadershipLost, StopOutcome, stopGracefully } from './runtime/shutdown.ts';
import { WorkQueue } from './runtime/workqueue.ts';

const SAFETY_RESYNC_MS = 24 * 3_600_000;
const EVENT_ACTIONS: Record<string, string> = {
  Granted: 'Grant',
  Revoked: 'Revoke',
  Published: 'Publish',
  Unpublished: 'Unpublish',
};

/** Prints why the operator cannot start; the caller exits non-zero. */
function reportStartupError(err: unknown): undefined {
  process.stderr.write(`imageshare-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  return undefined;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (isCliCommand(argv))
    return runCli(argv, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv, process.env);
  } catch (err: unknown) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`imageshare-operator: ${err.message}\n`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  const log = createLogger(config.logLevel);
  const kc = loadKubeConfig(config.kubeconfig);
  const metrics = new OperatorMetrics();
  const queue = new WorkQueue({ onReconcile: metrics.observeReconcile });
  metrics.bindQueue(queue);
  const cloud = createEcsImageSharingFactory({
    ...(config.ecsEndpoint ? { endpoint: config.ecsEndpoint } : {}),
    protocol: config.ecsProtocol,
    timeoutMs: config.ecsTimeoutMs,
    qps: config.ecsQps,
    burst: config.ecsBurst,
    onCall: (e) => metrics.observeEcsCall(e),
  });
  // A pass in flight stops writing to ECS as soon as the cache shows a newer spec than the one it read.
  const specWatch = new SpecWatch();
  const informer: ImageShareInformer = new ImageShareInformer(kc, {
    namespaces: config.namespaces,
    onKey: (key, change) => {
      specWatch.observed(key, informer.get(key)?.metadata.generation);
      if (change === 'input') queue.add(key);
      else queue.wake(key);
      credentialsInUse.onImageShareKey(key);
    },
    onRestart: () => metrics.informerRestarted(),
    log,
  });
  // Secrets that secretRef may name: a change re-enqueues the ImageShares naming it at once (a restored Secret
  // unblocks a stalled cleanup without waiting for the resync), and feeds the credentials-in-use finalizer.
  const secretNamespaces = secretScope(config.secretNamespaces, config.namespaces);
  const secretInformer = new SecretInformer(kc, {
    namespaces: secretNamespaces,
    onKey: (key) => {
      for (const k of imageSharesReferring(informer.list(), key)) queue.add(k);
      credentialsInUse.onSecretKey(key);
    },
    log,
  });
  const credentialsInUse = new CredentialsInUseController({
    imageShares: informer,
    secrets: secretInformer,
    writer: new KubeSecretFinalizers(kc),
    log,
    allowed: (ns) => secretsAllowedIn(secretNamespaces, ns),
  });
  const client = new ImageShareClient(kc);
  const secrets = new SecretCredentialsReader(kc, config.secretNamespaces);
  const recorder = new KubeEventRecorder(kc, config.podName, log);
  const store = reconcileStore(client, (regionId, imageId) => informer.claimants(regionId, imageId));
  const clusterId = config.clusterId ?? (await readClusterId(kc).catch(reportStartupError));
  if (clusterId === undefined) return 1;
  const watched = new Set(config.namespaces);
  const deps = {
    store,
    cloud,
    now: () => new Date(),
    random: Math.random,
    defaultResyncMs: config.resyncIntervalMs,
    confirmationWindowMs: config.confirmationWindowMs,
    maxWritesPerPass: config.maxWritesPerPass,
    specSuperseded: (namespace: string, name: string, generation: number) =>
      specWatch.signalFor(`${namespace}/${name}`, generation),
    // The owner tag on each image (ADR 0008); a tag from a namespace this installation does not watch is foreign.
    claims: { clusterId, watches: (namespace: string) => watched.size === 0 || watched.has(namespace) },
    emit: (obj: Parameters<typeof recorder.emit>[0], e: { type: 'Normal' | 'Warning'; reason: string; note: string }) =>
      void recorder.emit(obj, { ...e, action: EVENT_ACTIONS[e.reason] ?? 'Reconcile' }),
    async readSecretCredentials(namespace: string, name: string) {
      try {
        return { ok: true as const, credentials: await secrets.read(namespace, name) };
      } catch (err: unknown) {
        if (err instanceof CredentialsNotFoundError) return { ok: false as const, message: err.message };
        throw err;
      }
    },
  };

  const server = await startProbeServer({
    health: config.healthProbeBindAddress,
    metricsAddress: config.metricsBindAddress,
    ready: () => informer.synced(),
    // The objects gauge is computed from the informer cache when Prometheus scrapes, not on every reconcile.
    metrics: () => {
      metrics.setObjectCounts(countObjects(informer.list()));
      return metrics.text();
    },
  });
  log.info(
    {
      healthPort: server.health?.port ?? null,
      metricsPort: server.metrics?.port ?? null,
      namespaces: config.namespaces,
      leaderElect: config.leaderElect,
      clusterId,
    },
    'probe server listening',
  );

  // `stopping` ends waits that belong to start-up (cache sync); `passes` aborts in-flight reconciles.
  const stopping = new AbortController();
  const passes = new AbortController();
  informer.start().catch((err: unknown) => {
    log.error(
      { err: err instanceof Error ? err.message : String(err) },
      'ImageShare informer could not start; exiting',
    );
    process.exit(1);
  });
  void secretInformer.start();

  let stopResync = (): void => undefined;
  let controller: Promise<void> | undefined;
  const startCredentialsInUse = async (): Promise<void> => {
    // Removing a finalizer on the word of a half-listed cache would drop a protection still needed.
    if (!(await waitForCacheSync([informer, secretInformer], stopping.signal))) return;
    void credentialsInUse.run();
  };
  const startController = async (): Promise<void> => {
    metrics.setLeader(true);
    // Workers decide from the cache (one image, one owner), so they start only once every scope has listed.
    if (!(await waitForCacheSync([informer], stopping.signal))) return;
    log.info({ concurrency: config.concurrency }, 'starting controller');
    for (const key of informer.keys()) queue.add(key);
    // Each object schedules its own resync (spec.resyncInterval or --resync-interval) through requeueAfter; this
    // daily safety net only re-covers keys whose timer was lost, and never runs more often than the longest
    // allowed interval, so it cannot defeat a user's choice of a long one.
    stopResync = startResync({ keys: () => informer.keys(), queue, intervalMs: SAFETY_RESYNC_MS });
    controller = runController({
      queue,
      log,
      concurrency: config.concurrency,
      signal: passes.signal,
      reconcile: async ({ namespace, name }, signal) => {
        const result = await reconcile(namespace, name, deps, signal);
        if (result.tagFallback) metrics.ownershipTagFallback();
        return toResult(result);
      },
    });
    void startCredentialsInUse();
  };
  const bothQueues = {
    drain: async (ms: number) =>
      (await Promise.all([queue.drain(ms), credentialsInUse.queue.drain(ms)])).every(Boolean),
  };

  let elector: LeaderElector | undefined;
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  if (config.leaderElect && config.leaderElectionNamespace) {
    elector = new LeaderElector({
      store: new KubeLeaseStore(kc, config.leaderElectionNamespace, config.leaderElectionId),
      identity: config.podName,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      onStartedLeading: () => void startController(),
      onStoppedLeading: (reason) => {
        metrics.setLeader(false);
        if (reason !== 'lost') return;
        log.error({ inFlight: queue.inFlight() }, 'leader election lost; aborting in-flight reconciles and exiting');
        onLeadershipLost({
          stopQueue: () => {
            queue.shutdown();
            credentialsInUse.queue.shutdown();
          },
          abortPasses: () => passes.abort(),
          exit: (code) => process.exit(code),
        });
      },
      onNewLeader: (id) => log.info({ leader: id }, 'new leader observed'),
      log,
    });
    void elector.run();
  } else void startController();

  const signal = await signalled;
  log.info({ signal, inFlight: queue.inFlight(), timeoutMs: config.gracefulShutdownTimeoutMs }, 'shutting down');
  stopping.abort();
  stopResync();
  const leader = elector;
  const stop = await stopGracefully({
    queue: bothQueues,
    abortPasses: () => {
      log.warn({ inFlight: queue.inFlight() }, 'graceful shutdown timeout: aborting in-flight reconciles');
      passes.abort();
    },
    timeoutMs: config.gracefulShutdownTimeoutMs,
    ...(leader === undefined ? {} : { releaseLease: () => leader.release() }),
  });
  leader?.stop();
  await Promise.all([informer.stop(), secretInformer.stop()]);
  if (stop.outcome !== StopOutcome.Abandoned) await controller;
  await server.close();
  log.info(
    stop,
    stop.outcome === StopOutcome.Abandoned
      ? 'stopped with a reconcile still running; the Lease was left to expire'
      : 'stopped',
  );
  return stop.exitCode;
}

function countObjects(objects: ReturnType<ImageShareInformer['list']>) {
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

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`imageshare-operator: fatal: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
