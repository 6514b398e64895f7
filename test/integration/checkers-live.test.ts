// The ecosystem's own checkers on statuses the operator really wrote: the real operator process against the real
// kube-apiserver and the ECS emulator drives one object into each state it can write, and Argo CD's health script
// (gopher-lua, test/support/go/argocd-health) and kstatus (sigs.k8s.io/cli-utils, test/support/go/kstatus) judge the object
// as read back from the apiserver. test/checkers/ covers the same states on fixtures; this proves the fixtures are
// what the operator writes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareSpec } from '../../src/api/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { argoHealth } from '../harness/argocd-health.ts';
import { testKubeconfig } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { kstatus } from '../harness/kstatus.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { assertKstatusShape } from '../support/safety.ts';
import { accounts, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const IMAGES = [
  'm-livesync001',
  'm-liveprog001',
  'm-liveplan001',
  'm-liveplan002',
  'm-livesusp001',
  'm-livedup0001',
  'm-livedel0001',
];

let emu: Emulator;
let op: OperatorProcess;
let ns: string;

beforeAll(async () => {
  ns = await createNamespace('checkers');
  emu = await startEmulator({ seed: operatorWorld([...IMAGES, 'm-deprecated01']) });
  op = await startOperator({ kubeconfig: testKubeconfig(), ecsEndpoint: emu.endpoint, ...OWNER_KEY, namespaces: [ns] });
}, 120_000);

afterAll(async () => {
  await kubectl(['delete', 'imageshares', '--all', '-n', ns, '--wait=false'], { allowFail: true });
  const code = await op?.stop();
  await emu?.close();
  expect(code).toBe(0);
});

const apply = (name: string, spec: Partial<ImageShareSpec> & { imageId: string }) =>
  applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: ns },
    spec: { regionId: REGION, ...spec },
  });
const get = (name: string) => getJson<ImageShare>('imageshare', ns, name);

/** Waits until the status at the current generation has a condition `type` with `reason` (or status True). */
function waitCondition(name: string, type: string, reason?: string): Promise<ImageShare> {
  return eventually(
    async () => {
      const o = await get(name);
      const c = o.status?.conditions?.find((x) => x.type === type);
      const matches = reason === undefined ? c?.status === 'True' : c?.reason === reason;
      if (o.status?.observedGeneration !== o.metadata.generation || !matches) {
        throw new Error(
          `${name}: ${type} is ${c?.status}/${c?.reason} at generation ${o.status?.observedGeneration}/${o.metadata.generation}`,
        );
      }
      assertKstatusShape(o.status, o.metadata.generation ?? 0);
      return o;
    },
    { timeoutMs: 45_000 },
  );
}

interface LiveRow {
  state: string;
  why: string;
  drive: () => Promise<ImageShare>;
  argo: string;
  kstatus: string;
}

const ROWS: LiveRow[] = [
  {
    state: 'synced',
    why: 'the cloud matches the spec: both tools report done',
    drive: async () => {
      await apply('synced', { imageId: 'm-livesync001', accounts: accounts(1, 2) });
      return waitCondition('synced', 'Ready', 'Synced');
    },
    argo: 'Healthy',
    kstatus: 'Current',
  },
  {
    state: 'progressing (ECS keeps failing transiently)',
    why: 'Reconciling=True while retrying: still working, never Degraded',
    drive: async () => {
      await emu.admin.addFault({
        type: 'error',
        code: 'ServiceUnavailable',
        imageId: 'm-liveprog001',
        action: 'ModifyImageSharePermission',
      });
      await apply('progressing', { imageId: 'm-liveprog001', accounts: accounts(1, 2) });
      return waitCondition('progressing', 'Reconciling');
    },
    argo: 'Progressing',
    kstatus: 'InProgress',
  },
  {
    state: 'terminal (deprecated image)',
    why: 'Stalled=True needs a human: Degraded, and Failed so Flux stops waiting',
    drive: async () => {
      await apply('terminal', { imageId: 'm-deprecated01', accounts: accounts(1, 1) });
      return waitCondition('terminal', 'Stalled');
    },
    argo: 'Degraded',
    kstatus: 'Failed',
  },
  {
    state: 'Plan pending',
    why: 'Plan mode with changes waits for a human to switch to Apply',
    drive: async () => {
      await apply('plan-pending', { imageId: 'm-liveplan001', accounts: accounts(1, 2), mode: 'Plan' });
      return waitCondition('plan-pending', 'Ready', 'PlanPending');
    },
    argo: 'Suspended',
    kstatus: 'InProgress',
  },
  {
    state: 'Plan in sync',
    why: 'Plan mode with nothing to change is as good as synced',
    drive: async () => {
      await apply('plan-in-sync', { imageId: 'm-liveplan002', accounts: [], mode: 'Plan' });
      return waitCondition('plan-in-sync', 'Ready', 'PlanInSync');
    },
    argo: 'Healthy',
    kstatus: 'Current',
  },
  {
    state: 'suspended',
    why: 'spec.suspend stops reconciliation on purpose; kstatus sees Ready=False and waits',
    drive: async () => {
      await apply('suspended', { imageId: 'm-livesusp001', accounts: accounts(1, 1), suspend: true });
      return waitCondition('suspended', 'Ready', 'Suspended');
    },
    argo: 'Suspended',
    kstatus: 'InProgress',
  },
  {
    state: 'duplicate',
    why: 'the younger of two objects naming one image is Stalled naming the owner',
    drive: async () => {
      await apply('dup-owner', { imageId: 'm-livedup0001', accounts: accounts(1, 1) });
      await waitCondition('dup-owner', 'Ready', 'Synced');
      await apply('dup-younger', { imageId: 'm-livedup0001', accounts: accounts(2, 1) });
      return waitCondition('dup-younger', 'Stalled', 'DuplicateImageShare');
    },
    argo: 'Degraded',
    kstatus: 'Failed',
  },
];

describe('Argo CD health and kstatus on statuses the operator wrote', () => {
  it.each(ROWS)('$state', async (row) => {
    const o = await row.drive();
    expect({ why: row.why, argo: (await argoHealth(o)).status, kstatus: (await kstatus(o)).status }).toEqual({
      why: row.why,
      argo: row.argo,
      kstatus: row.kstatus,
    });
  });

  it('deleting: kstatus says Terminating while the finalizer revokes (ECS failing keeps it there)', async () => {
    await apply('deleting', { imageId: 'm-livedel0001', accounts: accounts(1, 1), deletionPolicy: 'Revoke' });
    await waitCondition('deleting', 'Ready', 'Synced');
    await emu.admin.addFault({
      type: 'error',
      code: 'ServiceUnavailable',
      imageId: 'm-livedel0001',
      action: 'ModifyImageSharePermission',
    });
    await kubectl(['delete', 'imageshare', 'deleting', '-n', ns, '--wait=false']);
    const o = await eventually(async () => {
      const x = await get('deleting');
      if (!x.metadata.deletionTimestamp) throw new Error('no deletionTimestamp yet');
      return x;
    });
    expect((await kstatus(o)).status).toBe('Terminating');
    await emu.admin.clearFaults();
  });
});
