#!/usr/bin/env node
// Composition root: read config, build the informers and controllers, hand them to the Manager. No logic lives here.
import { isCliCommand, runCli } from './cli/commands.ts';
import { ConfigError, helpText, loadConfig } from './config.ts';
import { CredentialsInUseController } from './controllers/credentials-in-use/controller.ts';
import { ImageShareController } from './controllers/imageshare/controller.ts';
import { countObjects, imageShareReconciler } from './controllers/imageshare/reconciler.ts';
import { readClusterId } from './kube/cluster-id.ts';
import { ImageShareInformer } from './kube/imageshare-informer.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { KubeLeaseStore } from './kube/lease-store.ts';
import { secretsAllowedIn } from './kube/secret-credentials.ts';
import { KubeSecretFinalizers } from './kube/secret-finalizer.ts';
import { SecretInformer, secretScope } from './kube/secret-informer.ts';
import { startProbeServer } from './runtime/http-server.ts';
import { createLogger } from './runtime/logger.ts';
import { Manager } from './runtime/manager.ts';
import { OperatorMetrics } from './runtime/metrics.ts';
import { SpecWatch } from './runtime/spec-watch.ts';
import { WorkQueue } from './runtime/workqueue.ts';

async function main(argv: string[]): Promise<number> {
  if (isCliCommand(argv))
    return runCli(argv, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  const config = loadConfig(argv, process.env);
  if (config === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  const log = createLogger(config.logLevel);
  const kc = loadKubeConfig(config.kubeconfig);
  const metrics = new OperatorMetrics();
  const clusterId = config.clusterId ?? (await readClusterId(kc));
  const specWatch = new SpecWatch();
  const queue = new WorkQueue({ onReconcile: metrics.observeReconcile });
  metrics.bindQueue(queue);

  const informer = new ImageShareInformer(kc, {
    namespaces: config.namespaces,
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
  const reconciler = imageShareReconciler({ kc, config, clusterId, cache: informer, specWatch, metrics, log });
  const imageShares = new ImageShareController({ ...config, ...reconciler, cache: informer, queue, specWatch, log });
  const credentialsInUse = new CredentialsInUseController({
    imageShares: informer,
    secrets: secretInformer,
    writer: new KubeSecretFinalizers(kc),
    allowed: (ns) => secretsAllowedIn(secretNamespaces, ns),
    caches: [informer, secretInformer],
    log,
  });

  const server = await startProbeServer({
    health: config.healthProbeBindAddress,
    metricsAddress: config.metricsBindAddress,
    ready: () => informer.synced(),
    metrics: () => (metrics.setObjectCounts(countObjects(informer.list())), metrics.text()),
  });
  const ports = { healthPort: server.health?.port ?? null, metricsPort: server.metrics?.port ?? null };
  const { namespaces, leaderElect, leaderElectionNamespace: leaseNamespace, podName: identity } = config;
  log.info({ ...ports, namespaces, leaderElect, clusterId }, 'probe server listening');
  const store =
    leaseNamespace === undefined ? undefined : new KubeLeaseStore(kc, leaseNamespace, config.leaderElectionId);
  const manager = new Manager({
    ...config,
    log,
    informers: [informer, secretInformer],
    runnables: [imageShares, credentialsInUse],
    ...(leaderElect && store !== undefined ? { election: { ...config, identity, store } } : {}),
    onLeading: (leading) => metrics.setLeader(leading),
    exit: (code) => process.exit(code),
  });
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort(signal));
  const code = await manager.run(stop.signal);
  await server.close();
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A bad flag exits 2; anything else that stops the start (no cluster ID, unreadable kubeconfig) exits 1.
    process.stderr.write(`imageshare-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
