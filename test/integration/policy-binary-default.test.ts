// The bare binary is secure by default (issue 18 item 2, docs/adr/0034): run without any tenancy flag, the operator
// refuses an ImageShare that would borrow its identity from a namespace nobody trusted, and makes no ECS call for it;
// the same object with its own keys (secretRef) is shared, because then the operator is not a confused deputy.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { account, OWNER_KEY, operatorWorld, REGION, SECRET_KEY } from './operator-world.ts';

const IMAGES = { borrowed: 'm-bindflt0001', ownKeys: 'm-bindflt0002' };
let emu: Emulator;
let op: OperatorProcess;
let ns: string;

const readyOf = (name: string, reason: string) =>
  eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, name);
      const r = o.status?.conditions?.find((c) => c.type === 'Ready');
      if (o.status?.observedGeneration !== o.metadata.generation || r?.reason !== reason)
        throw new Error(JSON.stringify(o.status?.conditions));
      return r;
    },
    { timeoutMs: 45_000 },
  );

beforeAll(async () => {
  ns = await createNamespace('binary-default');
  emu = await startEmulator({ seed: operatorWorld(Object.values(IMAGES)) });
  op = await startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    binaryDefaults: true,
  });
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await emu?.close();
});

describe('the bare binary with no tenancy flag', () => {
  it("refuses the operator's identity in an untrusted namespace (PolicyDenied), with no ECS call", async () => {
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name: 'borrowed', namespace: ns },
      spec: { regionId: REGION, imageId: IMAGES.borrowed, accounts: [account(1)] },
    });
    const ready = await readyOf('borrowed', 'PolicyDenied');
    expect(ready.message).toContain('tenancy baseline denies rule tenancy.trustedNamespaces');
    expect((await emu.admin.calls()).calls.filter((c) => c.imageId === IMAGES.borrowed)).toEqual([]);
  });

  it('shares an object that brings its own keys', async () => {
    await applyYaml({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'own', namespace: ns },
      stringData: SECRET_KEY,
    });
    await applyYaml({
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name: 'own-keys', namespace: ns },
      spec: {
        regionId: REGION,
        imageId: IMAGES.ownKeys,
        accounts: [account(1)],
        credentials: { secretRef: { name: 'own' } },
      },
    });
    await readyOf('own-keys', 'Synced');
    expect((await emu.admin.image(REGION, IMAGES.ownKeys)).sharedWith.map((a) => a.id)).toEqual([account(1)]);
  });
});
