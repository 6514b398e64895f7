// Benchmark: how fast and how lean the operator's reconcile path is, end to end through the real work queue,
// reconciler, ECS adapter and SDK, against the ECS emulator (the Kubernetes side is the in-memory store, so the
// figures are about our code and the cloud calls, not apiserver latency). Prints figures; asserts nothing.
//   npm run bench -- [--objects 200] [--accounts 20] [--concurrency 8] [--qps 1000]
import { parseArgs } from 'node:util';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { planShares } from '../../src/reconcile/plan-shares.ts';
import { type ReconcileDeps, reconcile } from '../../src/reconcile/reconcile.ts';
import { runController } from '../../src/runtime/controller.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { startEmulator } from '../emulator/server.ts';
import { FakeStore } from '../support/fake-store.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '200' },
    accounts: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '8' },
    qps: { type: 'string', default: '1000' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(`Usage: npm run bench -- [--objects N] [--accounts M] [--concurrency C] [--qps Q]

Creates N ImageShares, each sharing its own image with M accounts, and runs the real controller loop (work queue,
reconciler, ECS adapter, SDK) against the ECS emulator until all are Synced; then runs one steady-state pass over
all of them (observe only); then times the pure planner. Prints throughput, ECS calls and memory. Defaults:
N=200, M=20, C=8, Q=1000 (the ECS budget per identity and region, calls/s).
`);
  process.exit(0);
}
const N = Number(values.objects);
const M = Math.min(Number(values.accounts), 50);
const C = Number(values.concurrency);
const QPS = Number(values.qps);

const OWNER = '1000000000000001';
const KEY = { accessKeyId: 'LTAItestBench00001', accessKeySecret: 'bench-only-fake-secret' };
const REGION = 'cn-hangzhou';
const pool = Array.from({ length: 60 }, (_, i) => String(2000000000000001 + i));
const imageId = (i: number) => `m-bench${String(i).padStart(6, '0')}`;

const mb = (n: number) => `${(n / 1_048_576).toFixed(1)} MiB`;
const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(34)} ${v}\n`);

const emu = await startEmulator({
  seed: {
    owners: [{ id: OWNER, site: 'international', keys: [KEY] }],
    accounts: pool.map((id) => ({ id, site: 'international' as const })),
    regions: [{ id: REGION, community: true }],
    images: Array.from({ length: N }, (_, i) => ({ id: imageId(i), region: REGION, owner: OWNER, name: `bench-${i}` })),
  },
});
const store = new FakeStore();
const cloud = createEcsImageSharingFactory({ endpoint: emu.endpoint, protocol: 'http', timeoutMs: 10_000, qps: QPS, burst: Math.max(1, Math.ceil(QPS)) });
const sharing = cloud.forCredentials({ type: 'static', ...KEY });
const deps: ReconcileDeps = {
  store,
  cloud: { forCredentials: () => sharing },
  emit: () => undefined,
  now: () => new Date(),
  random: Math.random,
  defaultResyncMs: 3_600_000,
  readSecretCredentials: async () => ({ ok: false, message: 'unused' }),
};
for (let i = 0; i < N; i++) {
  store.create(`share-${i}`, { regionId: REGION, imageId: imageId(i), accounts: pool.slice(i % 10, (i % 10) + M) });
}

global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const queue = new WorkQueue();
let reconciles = 0;
const synced = () => store.list().every((o) => o.status?.conditions?.[0]?.reason === 'Synced');
const started = performance.now();
const loop = runController({
  queue,
  log: createLogger('silent'),
  concurrency: C,
  reconcile: async (ns, name) => {
    reconciles++;
    return reconcile(ns, name, deps);
  },
});
for (let i = 0; i < N; i++) queue.add(`default/share-${i}`);
while (!synced()) await new Promise((r) => setTimeout(r, 20));
const convergeMs = performance.now() - started;
const convergeCalls = (await emu.admin.calls()).counts.byAction;
const rss = process.memoryUsage().rss;
const heapAfter = process.memoryUsage().heapUsed;

await emu.admin.clearCalls();
const steadyStart = performance.now();
await Promise.all(Array.from({ length: C }, async (_, w) => {
  for (let i = w; i < N; i += C) await reconcile('default', `share-${i}`, deps);
}));
const steadyMs = performance.now() - steadyStart;
const steadyCalls = (await emu.admin.calls()).counts.byAction;

const planInput = { desiredAccounts: pool.slice(0, 50), desiredCommunity: undefined, sharePolicy: 'Authoritative' as const, observedAccounts: pool.slice(10, 60), observedCommunity: false, managedAccounts: [] };
const planRuns = 20_000;
const planStart = performance.now();
for (let i = 0; i < planRuns; i++) planShares(planInput);
const planMs = performance.now() - planStart;

queue.shutdown();
await loop;
await emu.close();

process.stdout.write(`imageshare-operator benchmark: ${N} objects × ${M} accounts, concurrency ${C}, ECS budget ${QPS}/s\n`);
line('converge (create → all Synced)', `${convergeMs.toFixed(0)} ms, ${reconciles} reconciles, ${(N / (convergeMs / 1000)).toFixed(1)} objects/s`);
line('  ECS calls', JSON.stringify(convergeCalls));
line('steady-state pass (all in sync)', `${steadyMs.toFixed(0)} ms, ${(N / (steadyMs / 1000)).toFixed(1)} objects/s, ${(steadyMs / N).toFixed(2)} ms/object`);
line('  ECS calls', JSON.stringify(steadyCalls));
line('planner (50 wanted vs 50 shared)', `${(planRuns / (planMs / 1000)).toFixed(0)} plans/s, ${((planMs * 1000) / planRuns).toFixed(1)} µs/plan`);
line('memory', `rss ${mb(rss)}, heap ${mb(heapAfter)} (+${mb(heapAfter - heapBefore)} while converging${global.gc ? '' : ', no --expose-gc'})`);
