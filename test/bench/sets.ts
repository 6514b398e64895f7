// The discovery phase of the benchmark (issue 17): --sets N ImageShareSets, each over --set-regions regions and
// matching --builds builds per region, all on the operator's one identity, against the emulator with its
// per-(account, region, action) quota on. Prints ECS calls per discovery round against the minimum, throttled calls
// and the round's duration; asserts nothing. See docs/performance.md.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from '../../src/api/types.ts';
import { type ImageShareSet, SET_KIND, SET_PLURAL } from '../../src/fleet/types.ts';
import type { CallRecord, Emulator } from '../emulator/server.ts';
import type { ControlPlane } from '../harness/control-plane.ts';
import { startBenchOperator } from './operator.ts';

/** DescribeImages' largest page (the adapter's discovery page size). */
export const IMAGE_PAGE = 100;
export const SET_REGIONS = ['cn-hangzhou', 'cn-shanghai', 'cn-beijing', 'cn-shenzhen', 'ap-southeast-1'];

export interface SetsOptions {
  sets: number;
  regions: string[];
  builds: number;
  quota: number;
  intervalS: number;
  rounds: number;
  owner: string;
  key: { accessKeyId: string; accessKeySecret: string };
  account: string;
}

export interface SetsContext {
  emu: Emulator;
  plane: ControlPlane;
  api: CustomObjectsApi;
  namespace: string;
  figure: (name: string, value: string, goal?: string) => void;
  progress: (msg: string) => void;
}

const family = (s: number): string => `bench-family-${s}`;

/** The emulator's images for the phase: `builds` Available builds of each set's family in every region. */
export function setImages(o: SetsOptions) {
  return o.regions.flatMap((region, r) =>
    Array.from({ length: o.sets * o.builds }, (_, i) => {
      const s = Math.floor(i / o.builds);
      const b = i % o.builds;
      return {
        id: `m-d${r}${String(i).padStart(7, '0')}`,
        region,
        owner: o.owner,
        name: `${family(s)}-${b}`,
        family: family(s),
        creationTime: new Date(Date.UTC(2026, 0, 1) + b * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      };
    }),
  );
}

/**
 * The fewest DescribeImages calls one discovery round can cost: every set of one identity in one region reads one
 * listing, filtered server-side by what all of them have in common, so each distinct (identity, region, server
 * filter) costs ⌈images it matches / 100⌉ pages. The operator lists with no server filter beyond Available and
 * self-owned (src/fleet/shared-listing.ts), so here that is one listing per region of every image of the owner.
 */
export function minimumCalls(o: SetsOptions, imagesPerRegion: (region: string) => number): number {
  return o.regions.reduce((sum, region) => sum + Math.ceil(imagesPerRegion(region) / IMAGE_PAGE), 0);
}

/** A discovery listing's page: DescribeImages without an image ID (a child's observe names its image). */
const isListingPage = (c: CallRecord): boolean => c.action === 'DescribeImages' && !c.imageId;

export async function setsPhase(ctx: SetsContext, o: SetsOptions): Promise<void> {
  const { emu, api, namespace, progress } = ctx;
  const minimum = minimumCalls(o, () => o.sets * o.builds);
  const perSetFilter = o.sets * o.regions.length * Math.ceil(o.builds / IMAGE_PAGE);
  progress(
    `discovery phase: ${o.sets} sets x ${o.regions.length} regions x ${o.builds} builds, emulator quota ${o.quota}/s per action, --ecs-qps ${o.quota}, --discovery-interval ${o.intervalS}s`,
  );
  await emu.admin.throttle({ qps: o.quota });
  await emu.admin.clearCalls();
  const op = await startBenchOperator(ctx.plane, emu.endpoint, o.key, namespace, [
    '--ecs-qps',
    String(o.quota),
    '--ecs-burst',
    String(o.quota),
    '--discovery-interval',
    `${o.intervalS}s`,
    '--resync-interval',
    '24h',
  ]);
  try {
    const created = Date.now();
    for (let s = 0; s < o.sets; s++) {
      const body: ImageShareSet = {
        apiVersion: API_VERSION,
        kind: SET_KIND,
        metadata: { name: `ds-${s}`, namespace },
        spec: { selector: { imageFamily: family(s) }, regions: o.regions, keep: { latest: 1 }, accounts: [o.account] },
      };
      await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: SET_PLURAL, body });
    }
    await untilSets(ctx, o.sets, (set) => isReady(set), 'first discovery (every set new)');
    const first = await emu.admin.calls();
    report(ctx, o, 'new sets, create → Ready', first.calls, {
      minimum,
      perSetFilter,
      seconds: (Date.now() - created) / 1000,
    });
    for (let round = 1; round <= o.rounds; round++) {
      // Clear well before the tick, so the call log holds this round only.
      const intervalMs = o.intervalS * 1000;
      let tick = Math.ceil(Date.now() / intervalMs) * intervalMs;
      if (tick - Date.now() < 2_000) tick += intervalMs;
      await sleep(Math.max(0, tick - Date.now() - 1_000));
      await emu.admin.clearCalls();
      progress(`discovery round ${round}: the tick at ${new Date(tick).toISOString()}`);
      await untilSets(ctx, o.sets, (set) => discoveredSince(set, tick), `round ${round}`);
      const seconds = (Date.now() - tick) / 1000;
      const log = await emu.admin.calls();
      report(ctx, o, `round ${round} at an interval tick`, log.calls, { minimum, perSetFilter, seconds });
    }
  } finally {
    await op.stop();
    await emu.admin.clearThrottle();
  }
}

function isReady(set: ImageShareSet): boolean {
  const ready = set.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && set.status?.observedGeneration === set.metadata.generation;
}

/** lastDiscoveryTime has second precision: a listing started at the tick shows the tick's second or later. */
function discoveredSince(set: ImageShareSet, tick: number): boolean {
  const at = set.status?.lastDiscoveryTime;
  return at !== undefined && Date.parse(at) >= Math.floor(tick / 1000) * 1000;
}

async function untilSets(
  ctx: SetsContext,
  want: number,
  done: (set: ImageShareSet) => boolean,
  label: string,
): Promise<void> {
  let lastPrint = performance.now();
  const giveUp = performance.now() + 1_800_000;
  for (;;) {
    const list = (await ctx.api.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ctx.namespace,
      plural: SET_PLURAL,
    })) as { items: ImageShareSet[] };
    const n = list.items.filter(done).length;
    if (n >= want) return;
    if (performance.now() > giveUp) throw new Error(`${label}: only ${n}/${want} sets after 30 minutes`);
    if (performance.now() - lastPrint > 10_000) {
      ctx.progress(`${label}: ${n}/${want} sets`);
      lastPrint = performance.now();
    }
    await sleep(250);
  }
}

/** Prints one round: listing pages against the minimum, listings started, throttled calls, the peak rate, time. */
function report(
  ctx: SetsContext,
  o: SetsOptions,
  label: string,
  calls: readonly CallRecord[],
  r: { minimum: number; perSetFilter: number; seconds: number },
): void {
  const pages = calls.filter(isListingPage);
  const started = pages.filter((c) => String(c.params.PageNumber ?? '1') === '1').length;
  const throttled = calls.filter((c) => c.code.includes('Throttling')).length;
  const perSecond = new Map<string, number>();
  for (const c of calls) {
    const k = `${c.regionId} ${c.action} ${Math.floor(Date.parse(c.at) / 1000)}`;
    perSecond.set(k, (perSecond.get(k) ?? 0) + 1);
  }
  const peak = Math.max(0, ...perSecond.values());
  const others = calls.length - pages.length;
  const span = pages.length > 0 ? (Date.parse(pages.at(-1)?.at ?? '') - Date.parse(pages[0]?.at ?? '')) / 1000 : 0;
  ctx.figure(
    `sets: ${label}: listing calls / minimum`,
    `${pages.length} / ${r.minimum} = ${(pages.length / r.minimum).toFixed(2)}x (${started} listings started; ${(pages.length / o.sets).toFixed(2)} per set; a listing per set filtered by its family would cost ${r.perSetFilter}); other ECS calls ${others}`,
    `minimum: ⌈images per (identity, region, server filter) / ${IMAGE_PAGE}⌉ summed over the distinct listings`,
  );
  ctx.figure(
    `sets: ${label}: rate budget and duration`,
    `throttled calls ${throttled} of ${calls.length}; peak ${peak} calls of one action in one region in one second (quota ${o.quota}/s); every set's status showed it ${r.seconds.toFixed(1)} s after ${label.includes('tick') ? 'the tick' : 'the first create'}; listing pages spanned ${span.toFixed(1)} s`,
    'goal: throttled calls 0 with --ecs-qps = the quota',
  );
  if (calls.length >= 10_000)
    ctx.progress('the emulator call log holds 10,000 calls at most: counts above are cut off');
}
