// Counts the TCP (and so TLS) connections the operator's Kubernetes client opens to a real kube-apiserver: a
// counting TCP relay (counting-relay.ts) sits in front of the apiserver and the kubeconfig points at the relay.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ImageShareClient } from '../../src/kube/imageshare-client.ts';
import { ImageShareInformer } from '../../src/kube/imageshare-informer.ts';
import { PooledKubeConfig, pooledCopy } from '../../src/kube/kubeconfig.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace } from '../harness/kubectl.ts';
import { type CountingRelay, countingRelay, through as via } from './counting-relay.ts';
import { adminKubeConfig, imageShareManifest } from './runtime-fixtures.ts';

const REQUESTS = 40;
let relay: CountingRelay;

beforeAll(async () => {
  const server = adminKubeConfig().getCurrentCluster()?.server;
  if (server === undefined) throw new Error('no server in the admin kubeconfig');
  relay = await countingRelay(server);
});

afterAll(async () => {
  await relay.close();
});

/** Runs `n` namespace GETs one after another and returns the connections the relay accepted meanwhile. */
async function connectionsFor(kc: KubeConfig, n: number): Promise<number> {
  const api = kc.makeApiClient(CoreV1Api);
  const before = relay.accepted();
  for (let i = 0; i < n; i++) await api.readNamespace({ name: 'default' });
  return relay.accepted() - before;
}

describe('apiserver connections', () => {
  it('upstream client-node 2.0.1 opens a new connection per request (the bug the pool works around)', async () => {
    const plain = via(adminKubeConfig(), relay.url, () => new KubeConfig());
    // If this ever drops to a handful, upstream fixed the bug and PooledKubeConfig can go (see ADR 0010).
    expect(await connectionsFor(plain, REQUESTS)).toBeGreaterThanOrEqual(REQUESTS / 2);
  });

  it(`PooledKubeConfig serves ${REQUESTS} sequential requests over one connection`, async () => {
    const pooled = via(adminKubeConfig(), relay.url, () => new PooledKubeConfig());
    expect(await connectionsFor(pooled, REQUESTS)).toBe(1);
    expect(pooled.pooledDispatchers()).toBe(1);
    await pooled.closeConnections();
  });

  it('concurrent requests open at most one connection each in flight, then reuse them', async () => {
    const pooled = via(adminKubeConfig(), relay.url, () => new PooledKubeConfig());
    const api = pooled.makeApiClient(CoreV1Api);
    const before = relay.accepted();
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 8 }, () => api.readNamespace({ name: 'default' })));
    }
    expect(relay.accepted() - before).toBeLessThanOrEqual(8);
    await pooled.closeConnections();
  });

  it('the informer, the ImageShare client and every API client of one config share the pool', async () => {
    const ns = await createNamespace('rt-pool');
    const pooled = via(adminKubeConfig(), relay.url, () => new PooledKubeConfig());
    const before = relay.accepted();
    const informer = new ImageShareInformer(pooled, {
      namespaces: [ns],
      onKey: () => undefined,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    await informer.start();
    const client = new ImageShareClient(pooled);
    for (let i = 0; i < 10; i++) {
      await applyYaml(imageShareManifest(ns, `pool-${i}`));
      await client.get(ns, `pool-${i}`);
    }
    await eventually(async () => expect(informer.keys()).toHaveLength(10));
    // One long-lived WATCH connection, and the GETs on one or two more, instead of one per request (~12).
    expect(relay.accepted() - before).toBeLessThanOrEqual(3);
    await informer.stop();
    await pooled.closeConnections();
  });

  it('pooledCopy keeps the clusters, users and current context of a plain config', () => {
    const copy = pooledCopy(adminKubeConfig());
    expect(copy.getCurrentCluster()?.server).toBe(adminKubeConfig().getCurrentCluster()?.server);
    expect(copy.getCurrentUser()?.name).toBe(adminKubeConfig().getCurrentUser()?.name);
  });
});
