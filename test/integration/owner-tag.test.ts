// One image, one owner across installations (issue #8, ADR 0008), on the real stack: two operator processes with
// different --namespaces against one real kube-apiserver and one ECS emulator, as in the reproduction (19 grant/
// revoke flips in 30 s, both objects Synced). The owner's tag on the image stops the second one. Assertions read
// the cloud: the emulator's share list, its tags and its call log.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { accounts, OWNER, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const SHARED = 'm-twoinstall01';
const RETAINED = 'm-retained0001';
const NOTAG = 'm-notagperm001';
const TAG = 'imageshare.ecs.alicloud.dev/owner';
/** The installation ID the operators default to here (no POD_NAMESPACE, the default Lease name). */
const INSTALLATION = 'default.imageshare-operator';
/** The owner's key minus ecs:TagResources/UntagResources (a RAM policy written before the tag existed). */
const NO_TAG_KEY = { accessKeyId: 'LTAItestnotag0001', accessKeySecret: 'itest-notag-secret-0001' };

let emu: Emulator;
let opA: OperatorProcess;
let opB: OperatorProcess;
let opC: OperatorProcess | undefined;
let nsA: string;
let nsB: string;
let nsC: string;
let clusterId: string;

const start = (ns: string, key = OWNER_KEY) =>
  startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...key,
    namespaces: [ns],
    extraArgs: ['--resync-interval', '10m'],
  });

beforeAll(async () => {
  [nsA, nsB, nsC] = await Promise.all([createNamespace('tag-a'), createNamespace('tag-b'), createNamespace('tag-c')]);
  const seed = operatorWorld([SHARED, RETAINED, NOTAG]);
  const owners = (seed.owners ?? []).map((o) =>
    o.id === OWNER
      ? {
          ...o,
          keys: [
            ...(o.keys ?? []),
            {
              ...NO_TAG_KEY,
              allowedActions: ['DescribeImages', 'DescribeImageSharePermission', 'ModifyImageSharePermission'],
            },
          ],
        }
      : o,
  );
  emu = await startEmulator({ seed: { ...seed, owners } });
  [opA, opB] = await Promise.all([start(nsA), start(nsB)]);
  clusterId = (await kubectl(['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}'])).stdout.trim();
}, 120_000);

afterAll(async () => {
  await Promise.all([opA?.stop(), opB?.stop(), opC?.stop()]);
  await emu?.close();
});

async function apply(ns: string, name: string, spec: Partial<ImageShareSpec> & { imageId: string }): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: REGION, ...spec },
  });
}
const shared = async (imageId: string) => (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id).sort();
const tags = async (imageId: string) => (await emu.admin.image(REGION, imageId)).tags;
const passes = (op: OperatorProcess, key: string) => op.logs().filter((l) => l.key === key && l.msg === 'reconciled');

/**
 * Asks for a reconcile (the reconcile-requested-at annotation, as a user would) and waits until `op` logged a pass
 * of the object after it; resolves with that pass's log line.
 */
async function poke(ns: string, name: string, op = opB): Promise<Record<string, unknown>> {
  const before = passes(op, `${ns}/${name}`).length;
  await kubectl([
    'annotate',
    '--overwrite',
    'imageshare',
    name,
    '-n',
    ns,
    `ecs.alicloud.dev/reconcile-requested-at=${Date.now()}`,
  ]);
  return eventually(
    async () => {
      const after = passes(op, `${ns}/${name}`);
      if (after.length <= before) throw new Error(`no pass of ${ns}/${name} yet`);
      return after.at(-1) as Record<string, unknown>;
    },
    { timeoutMs: 20_000 },
  );
}
const writes = async (imageId: string) =>
  (await emu.admin.calls()).calls.filter(
    (c) => c.imageId === imageId && c.action === 'ModifyImageSharePermission' && c.code === 'OK',
  ).length;

async function waitReason(ns: string, name: string, reason: string): Promise<ImageShare> {
  return await eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, name);
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      if (o.status?.observedGeneration !== o.metadata.generation || ready?.reason !== reason)
        throw new Error(`${ns}/${name}: ${ready?.reason} ${ready?.message ?? ''}`);
      return o;
    },
    { timeoutMs: 45_000 },
  ).catch((err: unknown) => {
    throw new Error(`waiting for ${reason}: ${String((err as Error).cause ?? err)}`);
  });
}

describe('two installations with different --namespaces, one image', () => {
  it('the first claims the image in its tag; the second is Stalled/DuplicateImageShare naming it, and the cloud stays still', async () => {
    await apply(nsA, 'golden', { imageId: SHARED, accounts: accounts(1, 2) });
    await waitReason(nsA, 'golden', 'Synced');
    expect(await tags(SHARED)).toEqual({ [TAG]: `${clusterId}/${nsA}/golden@${INSTALLATION}` });

    await apply(nsB, 'golden', { imageId: SHARED, accounts: accounts(3, 2) });
    const b = await waitReason(nsB, 'golden', 'DuplicateImageShare');
    expect(b.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(`${clusterId}/${nsA}/golden`);
    expect(b.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    const before = await writes(SHARED);
    // Both objects are reconciled again (a touch each) several times: nobody writes, nothing flips.
    for (let i = 0; i < 3; i++) {
      expect((await poke(nsA, 'golden', opA)).reason).toBe('Synced');
      expect((await poke(nsB, 'golden')).reason).toBe('DuplicateImageShare');
    }
    expect(await writes(SHARED)).toBe(before);
    expect(await shared(SHARED)).toEqual(accounts(1, 2));
  });

  it('a Retain deletion leaves the tag; the other installation stays Stalled until the tag is removed, then takes over', async () => {
    await apply(nsA, 'retained', { imageId: RETAINED, accounts: accounts(5, 1) });
    await waitReason(nsA, 'retained', 'Synced');
    await apply(nsB, 'retained', { imageId: RETAINED, accounts: accounts(6, 1), sharePolicy: 'Additive' });
    await waitReason(nsB, 'retained', 'DuplicateImageShare');
    await kubectl(['delete', 'imageshare', 'retained', '-n', nsA, '--wait=true', '--timeout=30s']);
    expect((await poke(nsB, 'retained')).reason).toBe('DuplicateImageShare');
    const stalled = await waitReason(nsB, 'retained', 'DuplicateImageShare');
    expect(stalled.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(
      /remove the tag from the image/,
    );
    await emu.admin.patchImage(REGION, RETAINED, { tags: {} }); // what the message tells a person to do
    await poke(nsB, 'retained');
    await waitReason(nsB, 'retained', 'Synced');
    expect(await tags(RETAINED)).toEqual({ [TAG]: `${clusterId}/${nsB}/retained@${INSTALLATION}` });
    expect(await shared(RETAINED)).toEqual([...accounts(5, 1), ...accounts(6, 1)].sort());
  });

  it('deleting with Revoke removes the tag after the revokes', async () => {
    await kubectl([
      'patch',
      'imageshare',
      'golden',
      '-n',
      nsA,
      '--type=merge',
      '-p',
      '{"spec":{"deletionPolicy":"Revoke"}}',
    ]);
    await waitReason(nsA, 'golden', 'Synced');
    const seqBefore = Math.max(0, ...(await emu.admin.calls()).calls.map((c) => c.seq));
    await kubectl(['delete', 'imageshare', 'golden', '-n', nsA, '--wait=true', '--timeout=60s']);
    expect(await shared(SHARED)).toEqual([]);
    expect(await tags(SHARED)).toEqual({});
    // The emulator's call log, in the order it answered: the revokes, then the untag.
    const cleanup = (await emu.admin.calls()).calls
      .filter((c) => c.seq > seqBefore && c.code === 'OK')
      .filter(
        (c) =>
          (c.action === 'ModifyImageSharePermission' && c.imageId === SHARED) ||
          (c.action === 'UntagResources' && Object.values(c.params).includes(SHARED)),
      )
      .sort((a, b) => a.seq - b.seq)
      .map((c) => c.action);
    expect(cleanup.at(-1)).toBe('UntagResources');
    expect(cleanup.slice(0, -1)).not.toEqual([]);
    expect(new Set(cleanup.slice(0, -1))).toEqual(new Set(['ModifyImageSharePermission']));
    // The waiting installation's object can now claim the image (after its next pass).
    await poke(nsB, 'golden');
    await waitReason(nsB, 'golden', 'Synced');
    expect(await shared(SHARED)).toEqual(accounts(3, 2));
  });
});

describe('credentials without ecs:TagResources', () => {
  it('share anyway, say in Ready that ownership is checked in this cluster only, and count it in the metric', async () => {
    opC = await start(nsC, NO_TAG_KEY);
    await apply(nsC, 'notag', { imageId: NOTAG, accounts: accounts(7, 1) });
    const o = await waitReason(nsC, 'notag', 'Synced');
    expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(
      /Ownership is checked in this cluster only.*ecs:TagResources/,
    );
    expect(await shared(NOTAG)).toEqual(accounts(7, 1));
    expect(await tags(NOTAG)).toEqual({});
    expect(await opC.metrics()).toMatch(/^imageshare_ownership_tag_fallback_total [1-9]/m);
  });
});
