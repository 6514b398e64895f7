// Every apiserver request honours the abort signal of the pass it belongs to and has a timeout (issue 20 item 3),
// checked against a server that accepts the request and never answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../../src/kube/kubeconfig.ts';
import { runController } from '../../src/runtime/controller.ts';
import { withRequestSignal } from '../../src/runtime/request-signal.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';

let server: Server;
let url = '';
beforeAll(async () => {
  server = createServer(() => undefined); // reads the request, never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function stalledApi(requestTimeoutMs: number): CoreV1Api {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'stalled', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'stalled', cluster: 'stalled', user: 'u' }],
    currentContext: 'stalled',
  });
  kc.requestTimeoutMs = requestTimeoutMs;
  return kc.makeApiClient(CoreV1Api);
}

/** How a request ended within 5 s: 'rejected' (aborted or timed out), or 'still waiting'. */
async function outcome(request: Promise<unknown>): Promise<string> {
  const waited = new Promise<string>((r) => setTimeout(() => r('still waiting'), 5_000).unref());
  return Promise.race([
    request.then(
      () => 'answered',
      () => 'rejected',
    ),
    waited,
  ]);
}

describe('apiserver requests end with their pass, or after a timeout', () => {
  it('a pass aborted (shutdown, lost Lease) ends its stalled request at once, well before the timeout', async () => {
    const api = stalledApi(60_000);
    const pass = new AbortController();
    const started = Date.now();
    const request = withRequestSignal(pass.signal, () => api.readNamespace({ name: 'kube-system' }));
    setTimeout(() => pass.abort(), 100);
    expect(await outcome(request)).toBe('rejected');
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('a request outside any pass still ends at the timeout (undici alone would wait 300 s)', async () => {
    const api = stalledApi(200);
    expect(await outcome(api.readNamespace({ name: 'kube-system' }))).toBe('rejected');
  });

  it('the controller runs every pass inside the signal that aborts in-flight passes', async () => {
    const api = stalledApi(60_000);
    const queue = new WorkQueue();
    const passes = new AbortController();
    const seen: string[] = [];
    const running = runController({
      queue,
      log: { info: () => undefined, warn: () => undefined },
      concurrency: 1,
      signal: passes.signal,
      reconcile: async () => {
        seen.push(await outcome(api.readNamespace({ name: 'kube-system' })));
        return {};
      },
    });
    queue.add('ns/a');
    setTimeout(() => passes.abort(), 100);
    await queue.drain(10_000);
    await running;
    expect(seen).toEqual(['rejected']);
  });
});
