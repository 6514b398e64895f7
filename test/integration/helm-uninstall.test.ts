// `helm uninstall` leaves no deletion hanging (issue #8, item 6). The finalizer is only put on an object while its
// deletion has cleanup to do (deletionPolicy Revoke, mode Apply, something managed). Objects with deletionPolicy
// Retain, objects in Plan mode and a Revoke object that manages nothing never carry it, so once the operator is gone
// they, and their namespace, can be deleted at once. Before, every object got the finalizer, and every deletion
// after `helm uninstall` hung forever.
//
// The chart is installed for real with `helm install` (its Deployment, ServiceAccount, RBAC; the CRD is already
// there). This control plane has no kubelet, so the operator the Deployment describes runs as a process under the
// chart's RBAC, as in the other integration tests; it is stopped before `helm uninstall`, as the uninstall stops
// the pod. Namespace deletion is finished with deleteNamespaceLikeController (no namespace controller here).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { addTestUser, testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { CHART_DIR, helm } from '../harness/helm.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { deleteNamespaceLikeController } from '../harness/namespace-deletion.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { accounts, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const OBJECTS = [
  // Why each row has no cleanup to do on deletion:
  {
    name: 'retain',
    imageId: 'm-uninstall01',
    spec: { deletionPolicy: 'Retain', accounts: accounts(1, 3) },
    sharedAfter: accounts(1, 3),
  },
  { name: 'retain-default', imageId: 'm-uninstall02', spec: { accounts: accounts(4, 2) }, sharedAfter: accounts(4, 2) }, // Retain is the default
  {
    name: 'plan',
    imageId: 'm-uninstall03',
    spec: { mode: 'Plan', deletionPolicy: 'Revoke', accounts: accounts(6, 2) },
    sharedAfter: [],
  }, // Plan never writes
  {
    name: 'revoke-nothing',
    imageId: 'm-uninstall04',
    spec: { deletionPolicy: 'Revoke', accounts: [] },
    sharedAfter: [],
  }, // manages nothing
] as const;

let emu: Emulator;
let op: OperatorProcess | undefined;

beforeAll(async () => {
  emu = await startEmulator({ seed: operatorWorld(OBJECTS.map((o) => o.imageId)) });
});

afterAll(async () => {
  await op?.stop();
  await emu?.close();
});

async function waitReconciled(ns: string, name: string): Promise<ImageShare> {
  return eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, name);
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      if (
        o.status?.observedGeneration !== o.metadata.generation ||
        ready === undefined ||
        ready.reason === 'Progressing'
      ) {
        throw new Error(`${name} not reconciled yet: ${ready?.reason}`);
      }
      return o;
    },
    { timeoutMs: 60_000 },
  );
}

const sharedWith = async (imageId: string) =>
  (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id).sort();

describe('helm uninstall', () => {
  it('afterwards, Retain, Plan and do-nothing Revoke objects and their namespace delete at once (no finalizer left)', async () => {
    const release = await createNamespace('uninstall-release');
    const apps = await createNamespace('uninstall-apps');
    const kubeconfig = testState().kubeconfigPath;
    // tenancy.mode=open: the objects below use the operator's identity, and the restricted default's baseline would
    // refuse them in a namespace the admin did not trust (docs/adr/0024); it is also cluster-wide, and this control
    // plane is shared with other test files.
    const set = ['crds.install=false', 'tenancy.mode=open', `operator.watchNamespaces={${apps}}`];
    const installed = await helm([
      'install',
      'isop',
      CHART_DIR,
      '--namespace',
      release,
      '--kubeconfig',
      kubeconfig,
      ...set.flatMap((s) => ['--set', s]),
    ]);
    expect({ code: installed.code, stderr: installed.stderr }).toEqual({ code: 0, stderr: '' });

    const operatorKubeconfig = await operatorUserKubeconfig({ ...testState(), addUser: addTestUser }, release, {
      watchNamespaces: [apps],
    });
    op = await startOperator({
      kubeconfig: operatorKubeconfig,
      ecsEndpoint: emu.endpoint,
      ...OWNER_KEY,
      namespaces: [apps],
      extraArgs: ['--leader-elect', '--leader-election-namespace', release],
    });
    for (const o of OBJECTS) {
      await applyYaml({
        apiVersion: 'ecs.alicloud.dev/v1alpha1',
        kind: 'ImageShare',
        metadata: { name: o.name, namespace: apps },
        spec: { regionId: REGION, imageId: o.imageId, ...o.spec },
      });
    }
    for (const o of OBJECTS) await waitReconciled(apps, o.name);
    // The operator did its work (so a finalizer would have been added by now if it were added unconditionally).
    for (const o of OBJECTS) expect(await sharedWith(o.imageId)).toEqual(o.sharedAfter);

    await op.stop();
    const uninstalled = await helm([
      'uninstall',
      'isop',
      '--namespace',
      release,
      '--kubeconfig',
      kubeconfig,
      '--wait',
      '--timeout',
      '60s',
    ]);
    expect({ code: uninstalled.code, stderr: uninstalled.stderr }).toMatchObject({ code: 0 });
    expect((await kubectl(['get', 'deployments', '-n', release, '-o', 'name'])).stdout.trim()).toBe('');

    // kubectl waits until the objects are gone; with a finalizer and no operator it would time out.
    const deleted = await kubectl(['delete', 'imageshares', '--all', '-n', apps, '--timeout=20s'], { allowFail: true });
    expect({ code: deleted.code, stderr: deleted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await deleteNamespaceLikeController(kubectl, apps, { timeoutMs: 20_000 })).toEqual({
      gone: true,
      remaining: [],
    });
    // Retain left the cloud as it was.
    for (const o of OBJECTS) expect(await sharedWith(o.imageId)).toEqual(o.sharedAfter);
  }, 180_000);
});
