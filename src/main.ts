#!/usr/bin/env node
// Composition root: read config, build the controllers, serve the probes, hand everything to the Manager.
import { isCliCommand, runCli } from './cli/commands.ts';
import { ConfigError, helpText, loadConfig } from './config.ts';
import { setupControllers } from './controllers/setup.ts';
import { readClusterId } from './kube/cluster-id.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { kubeMetricsAuth } from './kube/metrics-authorizer.ts';
import { KubeLeaseStore } from './kube/lease-store.ts';
import { startProbeServer } from './runtime/http-server.ts';
import { createLogger } from './runtime/logger.ts';
import { Manager } from './runtime/manager.ts';
import { OperatorMetrics } from './runtime/metrics.ts';

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
  const { informers, runnables, ready } = setupControllers({ kc, config, clusterId, metrics, log });

  const server = await startProbeServer({
    health: config.healthProbeBindAddress,
    metricsAddress: config.metricsBindAddress,
    ready,
    metrics: () => metrics.text(),
    ...(config.metricsSecure && config.metricsCertDir
      ? { metricsSecure: { certDir: config.metricsCertDir, auth: kubeMetricsAuth(kc) } }
      : {}),
  });
  const ports = { healthPort: server.health?.port ?? null, metricsPort: server.metrics?.port ?? null };
  const { namespaces, leaderElect, leaderElectionNamespace: leaseNamespace, installationId } = config;
  log.info({ ...ports, namespaces, leaderElect, clusterId, installationId }, 'probe server listening');

  const store = leaderElect && leaseNamespace ? new KubeLeaseStore(kc, leaseNamespace, config.leaderElectionId) : null;
  const manager = new Manager({
    ...config,
    log,
    informers,
    runnables,
    ...(store ? { election: { ...config, identity: config.podName, store } } : {}),
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
