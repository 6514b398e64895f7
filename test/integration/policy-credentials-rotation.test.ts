// Rotating the operator's own Secret without a restart (--credentials-dir, the chart's credentials.reloadFromFile), on
// the real stack: the keys live in a directory laid out as the kubelet mounts a Secret (files behind a `..data`
// symlink that an update swaps atomically). Objects without spec.credentials use the files, not the environment, and
// after a rotation the next write is signed with the new key while the process keeps running.
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { account, OWNER_KEY, operatorWorld, REGION, SECRET_KEY } from './operator-world.ts';

const IMAGE = 'm-rotate000001';
/** A third key of the operator's account, the one the Secret is rotated to. */
const ROTATED_KEY = { accessKeyId: 'LTAItestrotated01', accessKeySecret: 'itest-rotated-secret-0001' };

let emu: Emulator;
let op: OperatorProcess;
let ns: string;
let dir: string;
let generation = 0;

/** Writes a new `..data_<n>` directory and swaps the `..data` symlink to it, as the kubelet updates a Secret volume. */
async function mountKeys(keys: { accessKeyId: string; accessKeySecret: string }): Promise<void> {
  generation++;
  const data = join(dir, `..data_${generation}`);
  await mkdir(data);
  await writeFile(join(data, 'accessKeyId'), keys.accessKeyId);
  await writeFile(join(data, 'accessKeySecret'), keys.accessKeySecret);
  const tmpLink = join(dir, '..data_tmp');
  await symlink(`..data_${generation}`, tmpLink);
  await rename(tmpLink, join(dir, '..data'));
  if (generation === 1) {
    await symlink(join('..data', 'accessKeyId'), join(dir, 'accessKeyId'));
    await symlink(join('..data', 'accessKeySecret'), join(dir, 'accessKeySecret'));
  }
}

const apply = (accounts: string[]) =>
  applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name: 'rotating', namespace: ns },
    spec: { regionId: REGION, imageId: IMAGE, accounts },
  });
const grantKeys = async () =>
  (await emu.admin.calls()).calls
    .filter((c) => c.imageId === IMAGE && c.action === 'ModifyImageSharePermission')
    .map((c) => c.accessKeyId);
const waitShared = (n: number) =>
  eventually(
    async () => {
      const o = await getJson<ImageShare>('imageshare', ns, 'rotating');
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      if (o.status?.observedGeneration !== o.metadata.generation || ready?.reason !== 'Synced')
        throw new Error(`${ready?.reason} ${ready?.message ?? ''}`);
      if (o.status?.sharedAccounts?.length !== n) throw new Error(`shared ${o.status?.sharedAccounts?.length}`);
    },
    { timeoutMs: 45_000 },
  );

beforeAll(async () => {
  ns = await createNamespace('rotation');
  dir = await mkdtemp(join(tmpdir(), 'operator-keys-'));
  await mountKeys(SECRET_KEY);
  const seed = operatorWorld([IMAGE]);
  seed.owners?.[0]?.keys?.push(ROTATED_KEY);
  emu = await startEmulator({ seed });
  op = await startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    // The environment holds another key: the files must win for objects without spec.credentials.
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--credentials-dir', dir],
  });
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await emu?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the operator's own keys from a mounted Secret", () => {
  it('are used instead of the environment for an object without spec.credentials', async () => {
    await apply([account(1)]);
    await waitShared(1);
    expect(await grantKeys()).toEqual([SECRET_KEY.accessKeyId]);
  });

  it('are re-read after a rotation: the next grant is signed with the new key, with no restart', async () => {
    const pid = op.pid;
    await mountKeys(ROTATED_KEY);
    // The files are re-read at most every 5 s; a pass that starts later signs with the new key.
    await new Promise((r) => setTimeout(r, 6_000));
    await apply([account(1), account(2)]);
    await waitShared(2);
    expect(await grantKeys()).toEqual([SECRET_KEY.accessKeyId, ROTATED_KEY.accessKeyId]);
    expect(op.pid).toBe(pid);
    expect(op.logs().some((l) => l.msg === "the operator's own access key changed; using the new one")).toBe(true);
  });

  it('never logs a key', () => {
    for (const k of [SECRET_KEY, ROTATED_KEY]) {
      expect(op.rawLog()).not.toContain(k.accessKeySecret);
      expect(op.rawLog()).not.toContain(k.accessKeyId);
    }
  });
});
