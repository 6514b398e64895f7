// ImageShareSet Events, metrics and sharding on the real stack: the operator process (chart RBAC) against the real
// kube-apiserver, the ECS emulator behind the unmodified SDK. The operator watches one shard
// (--watch-label-selector imageshare.example/shard=a): a set of that shard is acted on and its children carry the
// shard label; a set of another shard is never touched.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runCli } from '../../src/cli/commands.ts';
import type { SetPlanResult } from '../../src/cli/plan-sets.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import type { ImageShare } from '../../src/api/types.ts';
import type { ImageShareSet } from '../../src/fleet/types.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { addTestUser, testKubeconfig, testState } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { operatorUserKubeconfig } from '../harness/rbac.ts';
import { account, OWNER, OWNER_KEY, operatorWorld, REGION } from './operator-world.ts';

const INTERVAL_MS = 3_000;
const SHARD = 'imageshare.example/shard';

let emu: Emulator;
let op: OperatorProcess;
let ns: string;

beforeAll(async () => {
  ns = await createNamespace('fleet-cli');
  emu = await startEmulator({ seed: operatorWorld([]) });
  const kubeconfig = await operatorUserKubeconfig({ ...testState(), addUser: addTestUser }, ns, {
    watchNamespaces: [ns],
    leaderElection: false,
  });
  op = await startOperator({
    kubeconfig,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: [
      '--resync-interval',
      '10s',
      '--discovery-interval',
      `${INTERVAL_MS / 1000}s`,
      '--watch-label-selector',
      `${SHARD}=a`,
    ],
  });
}, 120_000);

afterAll(async () => {
  const code = await op?.stop();
  await emu?.close();
  expect(code).toBe(0);
});

let day = 0;
async function build(family: string, id: string): Promise<string> {
  day++;
  await emu.admin.addImage({
    id,
    region: REGION,
    owner: OWNER,
    name: `${family}-${id}`,
    family,
    creationTime: `2026-02-${String(day).padStart(2, '0')}T00:00:00Z`,
  });
  return id;
}

async function applySet(name: string, shard: string, spec: Record<string, unknown>): Promise<void> {
  await applyYaml({
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShareSet',
    metadata: { name, namespace: ns, labels: { [SHARD]: shard } },
    spec: { regions: [REGION], accounts: [account(1)], ...spec },
  });
}

async function children(set: string): Promise<ImageShare[]> {
  const r = await kubectl([
    'get',
    'imageshares',
    '-n',
    ns,
    '-l',
    `ecs.alicloud.dev/imageshareset=${set}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(r.stdout) as { items: ImageShare[] }).items;
}

interface KubeEvent {
  type: string;
  reason: string;
  note: string;
  regarding: { kind: string; name: string };
  /** Set by the recorder when the same Event repeats (client-go's series). */
  series?: { count: number };
}
async function setEvents(set: string): Promise<KubeEvent[]> {
  const r = await kubectl(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: KubeEvent[] }).items.filter(
    (e) => e.regarding.kind === 'ImageShareSet' && e.regarding.name === set,
  );
}

const readyReason = async (name: string) =>
  (await getJson<ImageShareSet>('imageshareset', ns, name)).status?.conditions?.find((c) => c.type === 'Ready')?.reason;

/** The value of an unlabelled series, or the sum of a metric's series. */
function metric(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}${labels}`) && (labels !== '' || /[ {]/.test(l[name.length] ?? '')))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('ImageShareSet events, metrics and sharding', () => {
  it('a shard-a set: children carry the shard label; a child created and a child deleted are Events on the set', async () => {
    const b1 = await build('evt', 'm-evtset00001');
    await applySet('evt', 'a', { selector: { imageFamily: 'evt' }, keep: { latest: 1 }, deletionPolicy: 'Revoke' });
    await eventually(async () => expect((await emu.admin.image(REGION, b1)).sharedWith).toHaveLength(1));
    const [child] = await children('evt');
    // Why: the shard's ImageShare informer only sees labelled objects; an unlabelled child would never be shared.
    expect(child?.metadata.labels?.[SHARD]).toBe('a');

    const b2 = await build('evt', 'm-evtset00002');
    await eventually(async () => expect((await emu.admin.image(REGION, b1)).sharedWith).toEqual([]), {
      timeoutMs: INTERVAL_MS + 20_000,
    });
    await eventually(async () => {
      const events = await setEvents('evt');
      expect(events.filter((e) => e.reason === 'ChildCreated').map((e) => e.note)).toEqual(
        expect.arrayContaining([
          expect.stringContaining(`evt-${REGION}-${b1}`),
          expect.stringContaining(`evt-${REGION}-${b2}`),
        ]),
      );
      expect(events.find((e) => e.reason === 'ChildDeleted')?.note).toContain(`evt-${REGION}-${b1}`);
    });
  }, 90_000);

  it('plan --kubeconfig reads the live set and its children: kept ones are "keep", a wider window creates', async () => {
    // The live set "evt" keeps latest 1 (build 2); the manifest in the pull request asks for latest 2.
    const file = join(mkdtempSync(join(tmpdir(), 'fleet-cli-plan-')), 'evt.yaml');
    const spec = { selector: { imageFamily: 'evt' }, regions: [REGION], accounts: [account(1)], keep: { latest: 2 } };
    const manifest = {
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShareSet',
      metadata: { name: 'evt', namespace: ns, labels: { [SHARD]: 'a' } },
      spec: { ...spec, deletionPolicy: 'Revoke' },
    };
    writeFileSync(file, stringify(manifest));
    const real = createEcsImageSharingFactory({
      endpoint: emu.endpoint,
      protocol: 'http',
      timeoutMs: 3000,
      qps: 50,
      burst: 50,
    });
    let out = '';
    const code = await runCli(['plan', '-f', file, '--kubeconfig', testKubeconfig(), '--output', 'json'], {
      out: (t) => {
        out += t;
      },
      err: () => undefined,
      cloud: { forCredentials: () => real.forCredentials({ type: 'static', ...OWNER_KEY }) },
    });
    expect(code).toBe(0);
    const [plan] = JSON.parse(out) as SetPlanResult[];
    expect({
      live: plan?.live,
      keep: plan?.children.keep.map((c) => c.name),
      create: plan?.children.create.map((c) => c.name),
      remove: plan?.children.remove,
    }).toEqual({
      live: 'found',
      keep: [`evt-${REGION}-m-evtset00002`],
      create: [`evt-${REGION}-m-evtset00001`],
      remove: [],
    });
  });

  it('a selector that matches nothing and a window over maxChildren are Warning Events, once', async () => {
    await build('many', 'm-manyset0001');
    await build('many', 'm-manyset0002');
    // A new set may join a listing started since its creationTimestamp, which has whole seconds: a listing started
    // just before these builds, in the same second, would not hold them (reported to the lead; not this test's subject).
    await new Promise((r) => setTimeout(r, 1_100));
    await applySet('nothing', 'a', { selector: { imageFamily: 'no-such-family' } });
    await applySet('many', 'a', { selector: { imageFamily: 'many' }, keep: { all: true }, maxChildren: 1 });
    await eventually(async () => {
      expect(await readyReason('nothing')).toBe('NoImagesMatched');
      expect(await readyReason('many')).toBe('TooManyChildren');
    });
    // Two more discovery rounds: the state is unchanged, so no second Event (a steady state is quiet).
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS + 500));
    const nothing = await setEvents('nothing');
    const many = await setEvents('many');
    const once = (e: KubeEvent) => [e.type, e.reason, e.series?.count ?? 1];
    expect(nothing.map(once)).toEqual([['Warning', 'NoImagesMatched', 1]]);
    expect(many.map(once)).toEqual([['Warning', 'TooManyChildren', 1]]);
    expect(many[0]?.note).toContain('more than maxChildren 1');
    expect(await children('many')).toEqual([]);
  }, 60_000);

  it('a set of another shard is not acted on: no finalizer, no status, no child', async () => {
    await build('other', 'm-otherset001');
    await applySet('other', 'b', { selector: { imageFamily: 'other' } });
    await applySet('mine', 'a', { selector: { imageFamily: 'other' } });
    // Why "mine": once the shard-a set over the same image is Ready, a pass for "other" would have happened too.
    await eventually(async () => expect(await readyReason('mine')).toBe('Synced'), { timeoutMs: 30_000 });
    const other = await getJson<ImageShareSet>('imageshareset', ns, 'other');
    expect({ finalizers: other.metadata.finalizers, status: other.status }).toEqual({
      finalizers: undefined,
      status: undefined,
    });
    expect(await children('other')).toEqual([]);
  }, 60_000);

  it('metrics: children by state, discovery rounds, and discovery errors of a region that cannot be listed', async () => {
    await applySet('broken', 'a', { selector: { imageFamily: 'evt' }, regions: [REGION, 'eu-nowhere-9'] });
    await eventually(async () => expect(await readyReason('broken')).toBe('DiscoveryFailed'));
    await eventually(async () => {
      const text = await op.metrics();
      // evt (1 child) and mine (1 child) are Synced; broken's hangzhou child too once it is Ready.
      expect(metric(text, 'imageshare_set_children', '{state="synced"}')).toBeGreaterThanOrEqual(2);
      expect(metric(text, 'imageshare_set_discovery_rounds_total')).toBeGreaterThanOrEqual(4);
      expect(metric(text, 'imageshare_set_discovery_errors_total')).toBeGreaterThanOrEqual(1);
      // Why: no label names a set or a namespace (docs/metrics.md), so the series count stays bounded.
      expect(text).not.toMatch(/imageshare_set_[a-z_]+\{[^}]*(namespace|name)=/);
    });
  }, 60_000);
});
