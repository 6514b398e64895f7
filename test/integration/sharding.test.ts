// Sharding (docs/scaling.md): two operator processes on one namespace, each with its own --watch-label-selector and
// --installation-id, against the real apiserver and the ECS emulator. Two shards never both act on one object: each
// reconciles only the objects its selector matches, an object moved to the other shard is left alone by both until
// an administrator hands it over, and two objects naming one image in different shards still have one owner.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { testState } from '../harness/env.ts';
import { accounts, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const IMAGES = ['m-sharda00001', 'm-shardb00001', 'm-shardn00001', 'm-shardx00001'];
let emu: Emulator;
let ns: string;
let shardA: OperatorProcess;
let shardB: OperatorProcess;

async function shard(name: string): Promise<OperatorProcess> {
  return startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--watch-label-selector', `imageshare.example/shard=${name}`, '--installation-id', `shard-${name}`],
  });
}

async function apply(name: string, imageId: string, wanted: string[], shardLabel?: string): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns, ...(shardLabel ? { labels: { 'imageshare.example/shard': shardLabel } } : {}) },
    spec: { regionId: REGION, imageId, accounts: wanted },
  });
}

const get = (name: string) => getJson<ImageShare>('imageshare', ns, name);
const ready = async (name: string) => (await get(name)).status?.conditions?.find((c) => c.type === 'Ready');
/** Keys this process reconciled (its one log line per pass). */
const keysOf = (op: OperatorProcess) =>
  new Set(
    op
      .logs()
      .filter((l) => l.msg === 'reconciled')
      .map((l) => l.key),
  );
const grants = async (imageId: string) =>
  (await emu.admin.calls()).calls.filter(
    (c) => c.imageId === imageId && c.action === 'ModifyImageSharePermission' && c.code === 'OK',
  ).length;

beforeAll(async () => {
  emu = await startEmulator({ seed: operatorWorld(IMAGES) });
  ns = await createNamespace('shards');
  [shardA, shardB] = await Promise.all([shard('a'), shard('b')]);
});

afterAll(async () => {
  await Promise.all([shardA?.stop(), shardB?.stop()]);
  await emu?.close();
});

describe('two shards by label selector', () => {
  it('each shard reconciles only its own objects; an object matching neither is left alone', async () => {
    await apply('a1', 'm-sharda00001', accounts(1, 3), 'a');
    await apply('b1', 'm-shardb00001', accounts(1, 3), 'b');
    await apply('none', 'm-shardn00001', accounts(1, 3));
    for (const name of ['a1', 'b1']) {
      await eventually(async () => expect((await ready(name))?.reason).toBe('Synced'), { timeoutMs: 60_000 });
    }
    expect((await get('a1')).status?.installation).toBe('shard-a');
    expect((await get('b1')).status?.installation).toBe('shard-b');
    expect(keysOf(shardA)).toEqual(new Set([`${ns}/a1`]));
    expect(keysOf(shardB)).toEqual(new Set([`${ns}/b1`]));
    expect((await get('none')).status).toBeUndefined();
    expect(await grants('m-shardn00001')).toBe(0);
  });

  it('an object relabelled to the other shard is acted on by neither, even after a spec change', async () => {
    const before = await grants('m-sharda00001');
    await kubectl(['label', 'imageshare', 'a1', '-n', ns, 'imageshare.example/shard=b', '--overwrite']);
    await apply('a1', 'm-sharda00001', accounts(1, 5), 'b');
    // Shard b sees it now, and stops at the installation recorded in its status (shard-a's).
    await eventually(
      async () =>
        expect(
          shardB.logs().some((l) => l.msg === 'reconciled' && l.key === `${ns}/a1` && l.reason === 'OtherInstallation'),
        ).toBe(true),
      { timeoutMs: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await grants('m-sharda00001')).toBe(before);
    expect((await get('a1')).status?.installation).toBe('shard-a');
    expect((await get('a1')).status?.sharedAccounts).toEqual(accounts(1, 3));
  });

  it('two objects naming one image in different shards: one owner, the other a duplicate', async () => {
    await apply('x-first', 'm-shardx00001', accounts(10, 2), 'a');
    await eventually(async () => expect((await ready('x-first'))?.reason).toBe('Synced'), { timeoutMs: 60_000 });
    await apply('x-second', 'm-shardx00001', accounts(20, 2), 'b');
    await eventually(async () => expect((await ready('x-second'))?.reason).toBe('DuplicateImageShare'), {
      timeoutMs: 60_000,
    });
    // Only the owner's accounts were ever granted: the duplicate in the other shard made no share call.
    const calls = (await emu.admin.calls()).calls.filter(
      (c) => c.imageId === 'm-shardx00001' && c.action === 'ModifyImageSharePermission' && c.code === 'OK',
    );
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(JSON.stringify(c.params)).not.toContain(accounts(20, 1)[0]);
  });
});
