// Deletions that finish (issue #8): the Secret named by spec.credentials.secretRef is watched (a restore takes effect
// at once) and held by the credentials-in-use finalizer while a Revoke cleanup still needs it, so deleting a whole
// namespace, Secret and ImageShare together, ends with everything revoked and everything gone.
//
// This control plane has no kube-controller-manager, so the namespace controller's part is played by hand:
// `kubectl delete namespace` marks it Terminating, then the Secret and the ImageShare are deleted, Secret first
// (the order that used to strand the cleanup with CredentialsNotFound forever).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FINALIZER, type ImageShare } from '../../src/api/types.ts';
import { CREDENTIALS_IN_USE_FINALIZER } from '../../src/kube/secret-finalizer.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { addTestUser, testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { accounts, OWNER_KEY, operatorWorld, REGION, SECRET_KEY } from './operator-world.ts';

let emu: Emulator;
const running: OperatorProcess[] = [];

beforeAll(async () => {
  emu = await startEmulator({ seed: operatorWorld(['m-nsdelete001', 'm-retain00001', 'm-restored001']) });
});

afterAll(async () => {
  await Promise.all(running.map((o) => o.stop()));
  await emu?.close();
});

/** The operator under the chart's RBAC with secretRefAccess.namespaces=[ns] (Secrets get/list/watch/patch there). */
async function operator(ns: string): Promise<OperatorProcess> {
  const kubeconfig = await operatorUserKubeconfig({ ...testState(), addUser: addTestUser }, ns, {
    watchNamespaces: [ns],
    leaderElection: false,
  });
  const op = await startOperator({
    kubeconfig,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--secret-namespaces', ns],
  });
  running.push(op);
  return op;
}

async function ownerSecret(ns: string): Promise<void> {
  await kubectl([
    'create',
    'secret',
    'generic',
    'owner',
    '-n',
    ns,
    `--from-literal=accessKeyId=${SECRET_KEY.accessKeyId}`,
    `--from-literal=accessKeySecret=${SECRET_KEY.accessKeySecret}`,
  ]);
}

async function imageShare(
  ns: string,
  name: string,
  imageId: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: {
      regionId: REGION,
      imageId,
      accounts: accounts(1, 3),
      credentials: { secretRef: { name: 'owner' } },
      ...extra,
    },
  });
}

async function waitReason(ns: string, name: string, reason: string, timeoutMs = 45_000): Promise<void> {
  await eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, name);
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.reason !== reason) throw new Error(`${name}: ${ready?.reason}`);
    },
    { timeoutMs },
  );
}

const exists = async (kind: string, ns: string, name: string) =>
  (await kubectl(['get', kind, name, '-n', ns, '-o', 'name'], { allowFail: true })).code === 0;
const finalizers = async (ns: string) =>
  (await getJson<{ metadata: { finalizers?: string[] } }>('secret', ns, 'owner')).metadata.finalizers ?? [];
const sharedWith = async (imageId: string) => (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id);

describe('credentials for cleanup', () => {
  it('deleting the namespace (Secret first, then the Revoke ImageShare) revokes everything, then both go', async () => {
    const ns = await createNamespace('nsdelete');
    await operator(ns);
    await ownerSecret(ns);
    await imageShare(ns, 'revoke-me', 'm-nsdelete001', { deletionPolicy: 'Revoke' });
    await waitReason(ns, 'revoke-me', 'Synced');
    expect((await sharedWith('m-nsdelete001')).sort()).toEqual(accounts(1, 3));
    // While the ImageShare holds its cleanup finalizer, its Secret is marked in use.
    await eventually(async () => expect(await finalizers(ns)).toContain(CREDENTIALS_IN_USE_FINALIZER));

    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kubectl(['delete', 'secret', 'owner', '-n', ns, '--wait=false']);
    await new Promise((r) => setTimeout(r, 1000));
    // Why: before, the Secret vanished here and the revoke failed with CredentialsNotFound forever.
    expect(await exists('secret', ns, 'owner')).toBe(true);
    await kubectl(['delete', 'imageshare', 'revoke-me', '-n', ns, '--wait=false']);

    await eventually(async () => expect(await exists('imageshare', ns, 'revoke-me')).toBe(false), {
      timeoutMs: 45_000,
    });
    expect(await sharedWith('m-nsdelete001')).toEqual([]);
    await eventually(async () => expect(await exists('secret', ns, 'owner')).toBe(false), { timeoutMs: 30_000 });
  }, 150_000);

  it('a Secret that is not needed by a cleanup (deletionPolicy Retain) carries no finalizer and is deleted at once', async () => {
    const ns = await createNamespace('retain');
    await operator(ns);
    await ownerSecret(ns);
    await imageShare(ns, 'keep', 'm-retain00001');
    await waitReason(ns, 'keep', 'Synced');
    // Retain has no cleanup to do, so the ImageShare carries no cleanup finalizer and its Secret is not held.
    const o = await getJson<ImageShare>('imageshare', ns, 'keep');
    expect(o.metadata.finalizers ?? []).not.toContain(FINALIZER);
    await new Promise((r) => setTimeout(r, 2000)); // time for the Secret controller to (wrongly) add its finalizer
    expect(await finalizers(ns)).not.toContain(CREDENTIALS_IN_USE_FINALIZER);
    await kubectl(['delete', 'secret', 'owner', '-n', ns, '--wait=false']);
    // A finalizer would hold the Secret until the operator removed it; without one it goes as soon as it is deleted.
    await eventually(async () => expect(await exists('secret', ns, 'owner')).toBe(false), { timeoutMs: 10_000 });
    expect(await exists('imageshare', ns, 'keep')).toBe(true);
  }, 120_000);

  it('a restored Secret takes effect at once, not at the next resync (10 m)', async () => {
    const ns = await createNamespace('restore');
    await operator(ns);
    await imageShare(ns, 'late-secret', 'm-restored001', { accounts: accounts(4, 2) });
    await waitReason(ns, 'late-secret', 'CredentialsNotFound');
    await ownerSecret(ns);
    // Stalled on CredentialsNotFound, the object would next be retried at the 10 m resync; within 90 s is the watch.
    await waitReason(ns, 'late-secret', 'Synced', 90_000);
  }, 120_000);
});
