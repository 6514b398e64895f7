// One duration grammar (issue #8, point 8): on a real kube-apiserver, spec.resyncInterval is admitted exactly when
// the operator's parser accepts it and the value lies within 1m..24h. Before the shared grammar, "ns"/"us"/"µs"
// values were admitted by the CRD, rejected by the parser, and silently replaced by the default.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parseDuration } from '../../src/reconcile/duration.ts';
import { testKubeconfig } from '../harness/env.ts';
import { createNamespace } from '../harness/kubectl.ts';

let api: CustomObjectsApi;
let ns: string;

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(testKubeconfig());
  api = kc.makeApiClient(CustomObjectsApi);
  ns = await createNamespace('duration');
});

/** Server-side dry-run create: the schema pattern and the CEL bounds run, nothing is stored. */
async function admitted(resyncInterval: string): Promise<boolean> {
  try {
    await api.createNamespacedCustomObject({
      group: 'ecs.alicloud.dev',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'imageshares',
      dryRun: 'All',
      body: {
        apiVersion: 'ecs.alicloud.dev/v1alpha1',
        kind: 'ImageShare',
        metadata: { name: 'd' },
        spec: { regionId: 'cn-hangzhou', imageId: 'm-duration0001', accounts: [], resyncInterval },
      },
    });
    return true;
  } catch (err: unknown) {
    if ((err as { code?: number }).code === 422) return false;
    throw err;
  }
}

function operatorAccepts(text: string): boolean {
  try {
    const ms = parseDuration(text);
    return ms >= 60_000 && ms <= 86_400_000;
  } catch {
    return false;
  }
}

const VALUES = [
  '10m',
  '1m',
  '24h',
  '1h30m',
  '1.5h',
  '59s',
  '24h0m1s',
  '25h',
  '0s',
  '60000000000ns',
  '59999999999ns',
  '60000000us',
  '60000000µs',
  '60000000μs',
  '60000ms',
  '59s1000ms',
  '86400000000000ns',
  '86400000000001ns',
  '10',
  '-1m',
  '.5h',
  '1d',
  '1 m',
  '1e3s',
];

describe('spec.resyncInterval: apiserver admission agrees with parseDuration + the 1m..24h bound', () => {
  it.each(VALUES)('%j', async (value) => {
    // Why: the apiserver (pattern + CEL duration()) is the reference; the operator must read every admitted value.
    expect(await admitted(value)).toBe(operatorAccepts(value));
  });
});
