// Probes and metrics over plain HTTP. /healthz answers as long as the event loop runs; /readyz reflects the
// informer's sync state and deliberately ignores leadership (a standby replica is ready: it has a warm cache and
// can take over). /metrics serves the Prometheus text format. Health and metrics listen on separate ports so a
// NetworkPolicy can expose metrics without exposing probes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProbeServerOptions {
  /** Port for /healthz and /readyz; 0 picks a free port. Default 8081. */
  healthPort?: number;
  /** Port for /metrics; 0 picks a free port. Default 8080. */
  metricsPort?: number;
  /** Address to bind. Default '0.0.0.0' (probes come from the kubelet over the pod IP). */
  host?: string;
  /** Readiness: true once the informer cache has synced. */
  ready: () => boolean;
  /** Prometheus text exposition. */
  metrics: () => Promise<string>;
}

export interface ProbeServer {
  /** The ports actually bound (useful when 0 was asked for). */
  readonly healthPort: number;
  readonly metricsPort: number;
  close(): Promise<void>;
}

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Starts both listeners; rejects if either port cannot be bound (the other is closed again). */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const host = options.host ?? '0.0.0.0';
  const health = createServer((req, res) => handleHealth(req, res, options.ready));
  const metrics = createServer((req, res) => {
    void handleMetrics(req, res, options.metrics);
  });
  const healthPort = await listen(health, options.healthPort ?? 8081, host);
  let metricsPort: number;
  try {
    metricsPort = await listen(metrics, options.metricsPort ?? 8080, host);
  } catch (err: unknown) {
    await close(health);
    throw err;
  }
  return {
    healthPort,
    metricsPort,
    close: async () => {
      await Promise.all([close(health), close(metrics)]);
    },
  };
}

function handleHealth(req: IncomingMessage, res: ServerResponse, ready: () => boolean): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' || path === '/livez') {
    reply(res, 200, 'ok');
    return;
  }
  if (path === '/readyz') {
    let ok = false;
    try {
      ok = ready();
    } catch {
      ok = false;
    }
    reply(res, ok ? 200 : 503, ok ? 'ok' : 'informer cache not synced');
    return;
  }
  reply(res, 404, 'not found');
}

async function handleMetrics(req: IncomingMessage, res: ServerResponse, metrics: () => Promise<string>): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    reply(res, 404, 'not found');
    return;
  }
  try {
    const body = await metrics();
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
    res.end(body);
  } catch {
    reply(res, 500, 'metrics collection failed');
  }
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${body}\n`);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
