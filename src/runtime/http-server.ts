// Probes and metrics over plain HTTP. /healthz answers as long as the event loop runs; /readyz reflects the
// informer's sync state and deliberately ignores leadership (a standby replica is ready: it has a warm cache and
// can take over). /metrics serves the Prometheus text format. Health and metrics listen on separate ports so a
// NetworkPolicy can expose metrics without exposing probes. Each listener's address is configurable the
// controller-runtime way (--health-probe-bind-address / --metrics-bind-address), and either can be turned off.
// With --metrics-secure, /metrics is served over HTTPS and only to bearer tokens the apiserver authenticates and
// authorizes for `get` on the nonResourceURL /metrics (controller-runtime's secure metrics; docs/security.md).
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** Where a listener binds: host undefined = every interface (probes come from the kubelet over the pod IP). */
export interface ListenAddress {
  host?: string | undefined;
  /** 0 picks a free port. */
  port: number;
}

export interface ProbeServerOptions {
  /** /healthz and /readyz. Default `:8081`; null = not served. */
  health?: ListenAddress | null;
  /** /metrics. Default `:8080`; null = not served. */
  metricsAddress?: ListenAddress | null;
  /** Readiness: true once the informer cache has synced. */
  ready: () => boolean;
  /** Prometheus text exposition. */
  metrics: () => Promise<string>;
  /** Serve /metrics over HTTPS (tls.crt / tls.key in certDir) to tokens `auth` allows; undefined = plain HTTP. */
  metricsSecure?: { certDir: string; auth: MetricsAuth } | undefined;
}

export type MetricsVerdict = 'allowed' | 'unauthenticated' | 'forbidden';

/** Decides whether a bearer token may read /metrics; throws when it cannot tell (the request gets 500). */
export interface MetricsAuth {
  check(token: string): Promise<MetricsVerdict>;
}

export interface ProbeServer {
  /** The addresses actually bound (useful when port 0 was asked for); undefined when that listener is off. */
  readonly health: AddressInfo | undefined;
  readonly metrics: AddressInfo | undefined;
  close(): Promise<void>;
}

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Starts the configured listeners; rejects if one cannot be bound (the other is closed again). */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const healthAt = options.health === undefined ? { port: 8081 } : options.health;
  const metricsAt = options.metricsAddress === undefined ? { port: 8080 } : options.metricsAddress;
  const health = createServer((req, res) => handleHealth(req, res, options.ready));
  const secure = options.metricsSecure;
  const serveMetrics = (req: IncomingMessage, res: ServerResponse) => {
    void (secure === undefined
      ? handleMetrics(req, res, options.metrics)
      : authorized(req, res, secure.auth).then((ok) => (ok ? handleMetrics(req, res, options.metrics) : undefined)));
  };
  const metrics =
    secure === undefined
      ? createServer(serveMetrics)
      : createHttpsServer(
          {
            cert: await readFile(`${secure.certDir}/tls.crt`),
            key: await readFile(`${secure.certDir}/tls.key`),
            minVersion: 'TLSv1.2',
          },
          serveMetrics,
        );
  const healthInfo = healthAt === null ? undefined : await listen(health, healthAt);
  let metricsInfo: AddressInfo | undefined;
  try {
    metricsInfo = metricsAt === null ? undefined : await listen(metrics, metricsAt);
  } catch (err: unknown) {
    await close(health);
    throw err;
  }
  return {
    health: healthInfo,
    metrics: metricsInfo,
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

/** 401 without a token or with one the apiserver does not know, 403 when its user may not get /metrics. */
async function authorized(req: IncomingMessage, res: ServerResponse, auth: MetricsAuth): Promise<boolean> {
  const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (token === undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    reply(res, 401, 'Unauthorized: a bearer token is required');
    return false;
  }
  let verdict: MetricsVerdict;
  try {
    verdict = await auth.check(token);
  } catch {
    reply(res, 500, 'the token could not be reviewed');
    return false;
  }
  if (verdict === 'allowed') return true;
  if (verdict === 'unauthenticated') res.setHeader('www-authenticate', 'Bearer');
  reply(res, verdict === 'unauthenticated' ? 401 : 403, verdict === 'unauthenticated' ? 'Unauthorized' : 'Forbidden');
  return false;
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${body}\n`);
}

function listen(server: Server, at: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    };
    if (at.host === undefined) server.listen(at.port, done);
    else server.listen(at.port, at.host, done);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
