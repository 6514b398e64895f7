import { afterAll, describe, expect, it } from '@jest/globals';
import { startProbeServer, type ProbeServer } from '../../src/runtime/http-server.ts';
import { OperatorMetrics } from '../../src/runtime/metrics.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';

const servers: ProbeServer[] = [];
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const port = (a: { port: number } | undefined): number => {
  if (a === undefined) throw new Error('listener is off');
  return a.port;
};
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function get(port: number, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

describe('probe and metrics server (loopback, random ports)', () => {
  it('healthz is always ok; readyz follows the informer sync state; unknown paths 404', async () => {
    let synced = false;
    const metrics = new OperatorMetrics({ processMetrics: false });
    const s = await startProbeServer({
      health: LOOPBACK,
      metricsAddress: LOOPBACK,
      ready: () => synced,
      metrics: () => metrics.text(),
    });
    servers.push(s);
    expect(port(s.health)).toBeGreaterThan(0);
    expect(port(s.metrics)).not.toBe(port(s.health));
    expect((await get(port(s.health), '/healthz')).status).toBe(200);
    expect((await get(port(s.health), '/readyz')).status).toBe(503);
    synced = true;
    expect((await get(port(s.health), '/readyz')).status).toBe(200);
    expect((await get(port(s.health), '/metrics')).status).toBe(404); // metrics live on their own port
    expect((await get(port(s.metrics), '/nope')).status).toBe(404);
  });

  it('serves the operator metrics in Prometheus text format, with only low-cardinality labels', async () => {
    const metrics = new OperatorMetrics({ processMetrics: false });
    const queue = new WorkQueue();
    metrics.bindQueue(queue);
    queue.add('secret-ns/secret-name');
    queue.add('secret-ns/other', 'background');
    metrics.observeReconcile({ key: 'secret-ns/secret-name', outcome: 'error', durationMs: 120 });
    metrics.observeReconcile({ key: 'secret-ns/secret-name', outcome: 'success', durationMs: 30 });
    metrics.observeEcsCall({ action: 'ModifyImageSharePermission', code: 'Throttling.User', durationMs: 80 });
    metrics.setLeader(true);
    metrics.setObjectCounts([{ ready: 'False', reason: 'AccountsFailed', count: 2 }]);
    const s = await startProbeServer({
      health: LOOPBACK,
      metricsAddress: LOOPBACK,
      ready: () => true,
      metrics: () => metrics.text(),
    });
    servers.push(s);
    const { status, body, type } = await get(port(s.metrics), '/metrics');
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(body).toContain('imageshare_reconcile_total{result="error"} 1');
    expect(body).toContain('imageshare_reconcile_total{result="success"} 1');
    expect(body).toContain('imageshare_reconcile_duration_seconds_count{result="error"} 1');
    expect(body).toContain('imageshare_queue_depth{state="queued"} 2');
    expect(body).toContain('imageshare_queue_queued_by_priority{priority="urgent"} 1');
    expect(body).toContain('imageshare_queue_queued_by_priority{priority="background"} 1');
    expect(body).toContain('imageshare_ecs_calls_total{action="ModifyImageSharePermission",code="Throttling.User"} 1');
    expect(body).toContain('imageshare_leader_status 1');
    expect(body).toContain('imageshare_objects{ready="False",reason="AccountsFailed"} 2');
    expect(body).not.toContain('secret-name'); // object keys never become labels
    queue.shutdown();
  });

  it('rejects when a port is taken, leaving nothing listening', async () => {
    const first = await startProbeServer({
      health: LOOPBACK,
      metricsAddress: LOOPBACK,
      ready: () => true,
      metrics: async () => '',
    });
    servers.push(first);
    await expect(
      startProbeServer({
        health: LOOPBACK,
        metricsAddress: { host: '127.0.0.1', port: port(first.metrics) },
        ready: () => true,
        metrics: async () => '',
      }),
    ).rejects.toThrow();
  });
});

describe('bind addresses (--health-probe-bind-address / --metrics-bind-address)', () => {
  it('binds only the host it was given', async () => {
    const s = await startProbeServer({
      health: LOOPBACK,
      metricsAddress: LOOPBACK,
      ready: () => true,
      metrics: async () => '',
    });
    servers.push(s);
    // Why: the old server always bound 0.0.0.0; a loopback address must stay loopback.
    expect([s.health?.address, s.metrics?.address]).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('serves nothing for a listener that is off ("0"), and the other still works', async () => {
    const s = await startProbeServer({
      health: LOOPBACK,
      metricsAddress: null,
      ready: () => true,
      metrics: async () => '',
    });
    servers.push(s);
    // Why: controller-runtime's "0" disables the metrics server; probes must not depend on it.
    expect(s.metrics).toBeUndefined();
    expect((await get(port(s.health), '/healthz')).status).toBe(200);
  });
});
