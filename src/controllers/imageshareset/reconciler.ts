// One ImageShareSet pass (docs/adr/0027): get the set; on deletion delete the children and then let the set go;
// hold the finalizer; list the namespace's ImageShares; discover (at most once per interval, or on new input); plan
// with the pure fleet planner; create, set back and delete children; write the status only when it changed.
import { credentialIdentity } from '../../cloud/credentials.ts';
import { classify } from '../../cloud/ecs-errors.ts';
import { ErrorKind, type ImageSharingFactory, isAbortError, type ListedImage } from '../../cloud/port.ts';
import {
  type ChildPass,
  type ChildView,
  childrenToDelete,
  type FleetPlan,
  planChildren,
  type RegionListing,
  type SetView,
} from '../../fleet/plan.ts';
import { type ChildState, countChildren, SetReason, summarizeSet } from '../../fleet/status.ts';
import { resolveAccounts } from '../../fleet/accounts.ts';
import { nextTick, type SharedListing, tickStart } from '../../fleet/shared-listing.ts';
import {
  type AccountSet,
  type AccountSetRef,
  type ImageShareSet,
  type ImageShareSetStatus,
  SET_FINALIZER,
} from '../../fleet/types.ts';
import { type EventInput, EventType } from '../../kube/events.ts';
import type { SecretLookup } from '../../kube/secret-credentials.ts';
import { connect } from '../../reconcile/connect.ts';
import { RECONCILE_REQUESTED_AT } from '../../kube/imageshare-informer.ts';
import { buildConditions, rfc3339, type Summary } from '../../reconcile/conditions.ts';
import { parseDuration } from '../../reconcile/duration.ts';
import { mayHavePublished, oursOf, ownershipOf } from '../../reconcile/ownership.ts';
import { FINALIZER } from '../../api/types.ts';
import type { Reconciler, Result } from '../../runtime/reconciler.ts';
import type { ChildObject, ImageShareSetClient } from './set-client.ts';

export interface SetReconcilerDeps {
  client: Pick<
    ImageShareSetClient,
    'getSet' | 'listImageShares' | 'createChild' | 'patchChild' | 'deleteChild' | 'setFinalizers' | 'writeStatus'
  >;
  cloud: ImageSharingFactory;
  readSecretCredentials: (namespace: string, name: string) => Promise<SecretLookup>;
  now: () => Date;
  /** One listing per (identity, region) shared by the sets due together (src/fleet/shared-listing.ts). */
  listing: SharedListing<ListedImage>;
  /** --discovery-interval: how often a set lists its regions when spec.discoveryInterval is not set. */
  discoveryIntervalMs: number;
  /** An AccountSet (in `namespace`) or ClusterAccountSet from the caches; undefined when it does not exist. */
  accountSet: (ref: AccountSetRef, namespace: string) => AccountSet | undefined;
  /** Told after every pass which ImageShares are the set's children, so their events come back to the set. */
  children: (setKey: string, childKeys: readonly string[]) => void;
  /** Events on the set: a child created or deleted (the window moved), nothing matched, the child limit reached. */
  emit?: (set: ImageShareSet, event: EventInput) => void;
  /** After each discovery round: how many regions failed to list, by kind (imageshare_set_discovery_*). */
  onDiscovery?: (failed: { transient: number; terminal: number }) => void;
  /** The label keys of --watch-label-selector: children carry the set's values, so one shard owns both. */
  shardLabelKeys?: readonly string[];
}

/** The reasons of the Events a set gets (docs/metrics.md). */
export const SetEventReason = {
  ChildCreated: 'ChildCreated',
  ChildDeleted: 'ChildDeleted',
  NoImagesMatched: SetReason.NoImagesMatched,
  TooManyChildren: SetReason.TooManyChildren,
} as const;

/** How soon a set being deleted looks again at children still running their own deletion policy. */
const DELETION_POLL_MS = 2_000;

/** The last listing of a set: reused by passes that child events bring, until the interval is up or input arrives. */
interface Discovery {
  at: number;
  input: string;
  listings: Map<string, RegionListing>;
  terminal: boolean;
}

export function imageShareSetReconciler(deps: SetReconcilerDeps): Reconciler {
  const discoveries = new Map<string, Discovery>();
  return async ({ key, namespace, name }, signal) => {
    const set = await deps.client.getSet(namespace, name);
    if (set === null) {
      discoveries.delete(key);
      deps.children(key, []);
      return { report: { result: 'gone' } };
    }
    const all = await deps.client.listImageShares(namespace);
    const children = all.map(childView);
    deps.children(key, keysOf(namespace, ownedNames(set, children)));
    if (set.metadata.deletionTimestamp) return finalize(set, children, deps);
    if (!(set.metadata.finalizers ?? []).includes(SET_FINALIZER)) {
      await deps.client.setFinalizers(set, [...(set.metadata.finalizers ?? []), SET_FINALIZER]);
      return { requeueAfterMs: 1, report: { result: 'finalizer' } };
    }
    const accounts = resolveAccounts(set.spec, (ref) => deps.accountSet(ref, namespace));
    if (!accounts.ok) return stopped(set, accounts, children, deps);
    const intervalMs = intervalOf(set, deps.discoveryIntervalMs);
    const discovery = set.spec.suspend ? undefined : await discover(key, set, deps, discoveries, intervalMs, signal);
    const plan = planChildren(viewOf(set, accounts.accounts, deps.shardLabelKeys), discovery?.listings, children);
    await applyPlan(key, set, all, plan, deps);
    announce(set, plan, deps);
    return finish(set, plan, liveChildren(set, all, plan), { discovery, intervalMs }, deps);
  };
}

const keysOf = (namespace: string, names: readonly string[]) => names.map((n) => `${namespace}/${n}`);

/** The planner's view: the template with the resolved accounts (inline + account sets) in place of both fields. */
function viewOf(set: ImageShareSet, accounts: string[] | undefined, shardKeys: readonly string[] = []): SetView {
  const { accounts: _inline, accountSetRefs: _refs, ...template } = set.spec;
  const spec = accounts === undefined ? template : { ...template, accounts };
  const labels = set.metadata.labels ?? {};
  const inheritedLabels = Object.fromEntries(shardKeys.flatMap((k) => (k in labels ? [[k, labels[k] ?? '']] : [])));
  return { name: set.metadata.name, uid: set.metadata.uid ?? '', spec, inheritedLabels };
}

/**
 * The set's Events for this pass: one per child created or deleted, and a Warning when the set newly stops at the
 * child limit or newly matches nothing (the Ready reason changed to it), so a steady state emits nothing.
 */
function announce(set: ImageShareSet, plan: FleetPlan, deps: SetReconcilerDeps): void {
  const emit = deps.emit;
  if (emit === undefined) return;
  for (const c of plan.create)
    emit(set, {
      type: EventType.Normal,
      reason: SetEventReason.ChildCreated,
      action: 'Create',
      note: `Created ImageShare ${c.name} for image ${c.imageId} in ${c.regionId}: it is in the window (spec.keep).`,
    });
  for (const n of plan.remove)
    emit(set, {
      type: EventType.Normal,
      reason: SetEventReason.ChildDeleted,
      action: 'Delete',
      note: `Deleted ImageShare ${n}: its image is no longer in the window (a newer build arrived, the image was deprecated or deleted, or its region left spec.regions); its deletionPolicy applies.`,
    });
  const before = set.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  if (plan.stop !== undefined && before !== SetEventReason.TooManyChildren)
    emit(set, {
      type: EventType.Warning,
      reason: SetEventReason.TooManyChildren,
      action: 'Discover',
      note: plan.stop.message,
    });
  const nothing = plan.regions.length > 0 && plan.regions.every((r) => r.error === undefined && r.matched === 0);
  if (nothing && plan.stop === undefined && before !== SetEventReason.NoImagesMatched)
    emit(set, {
      type: EventType.Warning,
      reason: SetEventReason.NoImagesMatched,
      action: 'Discover',
      note: `No Available image of these credentials matches the selector in ${plan.regions.map((r) => r.regionId).join(', ')}.`,
    });
}

/** Creates, sets back and deletes children; the controller learns the new children before their events arrive. */
async function applyPlan(
  key: string,
  set: ImageShareSet,
  all: readonly ChildObject[],
  plan: FleetPlan,
  deps: SetReconcilerDeps,
): Promise<void> {
  const namespace = set.metadata.namespace;
  for (const c of plan.create) await deps.client.createChild(set, c);
  const owned = ownedNames(set, all.map(childView)).concat(plan.create.map((c) => c.name));
  deps.children(key, keysOf(namespace, owned));
  for (const u of plan.update) await deps.client.patchChild(namespace, u.name, u.patch);
  const byName = new Map(all.map((o) => [o.metadata.name, o] as const));
  for (const n of plan.remove) await deps.client.deleteChild(namespace, n, byName.get(n)?.metadata.uid);
}

/**
 * The child writes a pass made, which bring the set back within a second. A child waiting for its pass under Revoke
 * (removalOf) is not one: it brings the set back through its own events, so one that never takes the finalizer
 * (denied, blocked) does not make the set poll every second.
 */
export function childWrites(plan: Pick<FleetPlan, 'create' | 'update' | 'remove' | 'waiting'>): number {
  return plan.create.length + plan.update.length + plan.remove.length;
}

/** Writes the status when it changed and says when to come back: at the next discovery, sooner after writes. */
async function finish(
  set: ImageShareSet,
  plan: FleetPlan,
  live: readonly ChildState[],
  d: { discovery: Discovery | undefined; intervalMs: number },
  deps: SetReconcilerDeps,
): Promise<Result> {
  const summary: Summary = set.spec.suspend
    ? {
        ready: 'False',
        reason: SetReason.Suspended,
        message: 'spec.suspend is true: the set and its children do nothing until it is false.',
      }
    : summarizeSet(plan, live, {
        discoveryFailedTerminal: d.discovery?.terminal ?? false,
        intervalText: set.spec.discoveryInterval ?? `${Math.round(d.intervalMs / 1000)}s`,
      });
  const status = nextStatus(set, summary, live, plan.regions, d.discovery, deps.now());
  const changed = canonical(status) !== canonical(set.status ?? {});
  if (changed) await deps.client.writeStatus(set, status);
  const writes = childWrites(plan);
  const report = { result: summary.reason, statusWritten: changed, childWrites: writes };
  if (set.spec.suspend) return { report };
  if (summary.reason === SetReason.DiscoveryFailed && !d.discovery?.terminal) return { backoff: true, report };
  const dueInMs = nextTick(deps.now().getTime(), d.intervalMs);
  return { requeueAfterMs: writes > 0 ? Math.min(dueInMs, 1_000) : dueInMs, report };
}

/**
 * A reference did not resolve or the union is over quota (docs/adr/0028): nothing is written to any child, the set
 * is Stalled with the reason, and it comes back when an AccountSet or the set changes (or at the discovery interval).
 */
async function stopped(
  set: ImageShareSet,
  why: { reason: string; message: string },
  children: readonly ChildView[],
  deps: SetReconcilerDeps,
): Promise<Result> {
  const live = children
    .filter((c) => c.ownerUid === set.metadata.uid && !c.deleting)
    .map((c) => ({ name: c.name, conditions: undefined }));
  const summary: Summary = { ready: 'False', reason: why.reason, message: why.message, abnormal: 'Stalled' };
  const status = nextStatus(set, summary, live, set.status?.regions, undefined, deps.now());
  const changed = canonical(status) !== canonical(set.status ?? {});
  if (changed) await deps.client.writeStatus(set, status);
  return {
    terminal: true,
    requeueAfterMs: deps.discoveryIntervalMs,
    report: { result: why.reason, statusWritten: changed },
  };
}

/** Names of the ImageShares whose controller ownerReference is this set. */
function ownedNames(set: ImageShareSet, children: readonly ChildView[]): string[] {
  return children.filter((c) => c.ownerUid === set.metadata.uid).map((c) => c.name);
}

/** JSON with object keys sorted: the apiserver returns status with its keys in another order than we wrote them. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function intervalOf(set: ImageShareSet, fallbackMs: number): number {
  if (!set.spec.discoveryInterval) return fallbackMs;
  try {
    return parseDuration(set.spec.discoveryInterval);
  } catch {
    return fallbackMs;
  }
}

/** An ImageShare as the planner sees it (also `plan --kubeconfig`'s view of a live set's children). */
export function childView(o: ChildObject): ChildView {
  const owner = o.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'ImageShareSet');
  return {
    name: o.metadata.name,
    ownerUid: owner?.uid,
    labels: o.metadata.labels ?? {},
    spec: o.spec,
    deleting: o.metadata.deletionTimestamp !== undefined,
    pass: childPass(o),
  };
}

/** What the child's own passes recorded (its status is from the LIST of this pass, not a cache). */
function childPass(o: ChildObject): ChildPass {
  const own = ownershipOf(o.status);
  return {
    observed: o.status?.observedGeneration !== undefined && o.status.observedGeneration === o.metadata.generation,
    holdsFinalizer: o.metadata.finalizers?.includes(FINALIZER) ?? false,
    owesCleanup: oursOf(own).length > 0 || mayHavePublished(own),
  };
}

/** Deletion: every owned child is deleted (its own deletionPolicy applies); the finalizer goes once none is left. */
async function finalize(set: ImageShareSet, children: readonly ChildView[], deps: SetReconcilerDeps): Promise<Result> {
  const uid = set.metadata.uid ?? '';
  const doomed = childrenToDelete({ uid, spec: set.spec }, children);
  for (const u of doomed.update) await deps.client.patchChild(set.metadata.namespace, u.name, u.patch);
  for (const n of doomed.remove) await deps.client.deleteChild(set.metadata.namespace, n, undefined);
  const left = children.filter((c) => c.ownerUid === uid).length;
  if (left > 0) return { requeueAfterMs: DELETION_POLL_MS, report: { result: SetReason.Deleting, children: left } };
  const rest = (set.metadata.finalizers ?? []).filter((f) => f !== SET_FINALIZER);
  if (rest.length !== (set.metadata.finalizers ?? []).length) await deps.client.setFinalizers(set, rest);
  return { report: { result: 'deleted' } };
}

/**
 * How recent this discovery's listings must be (when they started): since the tick for a set that is due (also after
 * a restart, for a set discovered at its generation); since its creation for a new set, so the sets of one apply
 * share a listing; now for an edit. A reconcile request whose value is a time (as `date -Is` gives) asks for no less.
 * `sameInput`: whether this process's last discovery of the set saw the same input (undefined: none yet).
 */
function listingNotBefore(set: ImageShareSet, sameInput: boolean | undefined, now: number, intervalMs: number): number {
  const requested = Date.parse(set.metadata.annotations?.[RECONCILE_REQUESTED_AT] ?? '');
  const since = (t: number) => (Number.isNaN(requested) ? t : Math.max(t, Math.min(requested, now)));
  const discovered = set.status?.lastDiscoveryTime !== undefined;
  const settled = discovered && set.status?.observedGeneration === set.metadata.generation;
  if (sameInput ?? settled) return since(tickStart(now, intervalMs));
  const created = Date.parse(set.metadata.creationTimestamp ?? '');
  // creationTimestamp has whole seconds: only a listing started after that second surely began after the creation.
  if (sameInput === undefined && !discovered && !Number.isNaN(created)) return since(Math.min(created + 1_000, now));
  return now;
}

/** The discovery of this pass: the cached one while it is fresh and no new input arrived, else every region listed. */
async function discover(
  key: string,
  set: ImageShareSet,
  deps: SetReconcilerDeps,
  cache: Map<string, Discovery>,
  intervalMs: number,
  signal: AbortSignal,
): Promise<Discovery> {
  const input = JSON.stringify([
    set.metadata.uid,
    set.metadata.generation,
    set.metadata.annotations?.[RECONCILE_REQUESTED_AT],
  ]);
  const now = deps.now().getTime();
  const cached = cache.get(key);
  // A listing counts until the next wall-clock tick (nextTick), so every set due at that tick lists together.
  const sameTick = cached !== undefined && Math.floor(cached.at / intervalMs) === Math.floor(now / intervalMs);
  if (cached !== undefined && cached.input === input && sameTick) return cached;
  const notBefore = listingNotBefore(
    set,
    cached?.input === undefined ? undefined : cached.input === input,
    now,
    intervalMs,
  );
  const listings = new Map<string, RegionListing>();
  let terminal = false;
  const port = await portFor(set, deps);
  for (const regionId of set.spec.regions) {
    if ('error' in port) {
      listings.set(regionId, { ok: false, error: port.error, terminal: true });
      terminal = true;
      continue;
    }
    try {
      const list = (own: AbortSignal) => port.list(regionId, {}, own);
      const images = await deps.listing.get(port.identity, regionId, signal, list, notBefore);
      listings.set(regionId, { ok: true, images });
    } catch (err: unknown) {
      if (isAbortError(err)) throw err;
      const e = classify(err);
      terminal ||= e.kind === ErrorKind.Terminal;
      listings.set(regionId, { ok: false, error: e.message, terminal: e.kind === ErrorKind.Terminal });
    }
  }
  const found: Discovery = { at: now, input, listings, terminal };
  cache.set(key, found);
  const failed = [...listings.values()].filter((l) => !l.ok);
  const terminalCount = failed.filter((l) => !l.ok && l.terminal).length;
  deps.onDiscovery?.({ transient: failed.length - terminalCount, terminal: terminalCount });
  return found;
}

type Lister = {
  identity: string;
  list: NonNullable<ReturnType<ImageSharingFactory['forCredentials']>['listOwnImages']>;
};

/** The set's cloud identity through the one `connect` step the ImageShare controller and `plan` use. */
async function portFor(set: ImageShareSet, deps: SetReconcilerDeps): Promise<Lister | { error: string }> {
  const c = await connect({
    namespace: set.metadata.namespace,
    credentials: set.spec.credentials,
    readSecret: (namespace, name) => deps.readSecretCredentials(namespace, name),
  });
  if (!c.ok) return { error: c.message };
  const sharing = deps.cloud.forCredentials(c.credentials);
  const list = sharing.listOwnImages?.bind(sharing);
  if (list === undefined) return { error: 'this cloud adapter cannot list images (listOwnImages)' };
  return { identity: credentialIdentity(c.credentials).key, list };
}

/** The set's live children after this pass's writes, sorted by name: kept ones as listed, created ones pending. */
function liveChildren(set: ImageShareSet, all: readonly ChildObject[], plan: FleetPlan): ChildState[] {
  const removed = new Set(plan.remove);
  const owned = all.filter(
    (o) =>
      o.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === set.metadata.uid) &&
      o.metadata.deletionTimestamp === undefined &&
      !removed.has(o.metadata.name),
  );
  const states: ChildState[] = owned.map((o) => ({ name: o.metadata.name, conditions: childConditions(o) }));
  for (const c of plan.create) states.push({ name: c.name, conditions: undefined });
  return states.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A child's conditions count only when they speak of its current spec (a hand edit makes them stale). */
function childConditions(o: ChildObject) {
  const conditions = o.status?.conditions;
  const observed = o.status?.observedGeneration;
  if (conditions === undefined || observed === undefined || observed !== o.metadata.generation) return undefined;
  return conditions;
}

function nextStatus(
  set: ImageShareSet,
  summary: Summary,
  children: readonly ChildState[],
  regions: ImageShareSetStatus['regions'],
  discovery: Discovery | undefined,
  now: Date,
): ImageShareSetStatus {
  const generation = set.metadata.generation ?? 0;
  const status: ImageShareSetStatus = {
    observedGeneration: generation,
    conditions: buildConditions(set.status?.conditions, summary, generation, now),
    children: countChildren(children),
  };
  const allListed = discovery !== undefined && [...discovery.listings.values()].every((l) => l.ok);
  const last = allListed ? rfc3339(new Date(discovery.at)) : set.status?.lastDiscoveryTime;
  if (last !== undefined) status.lastDiscoveryTime = last;
  if (regions !== undefined && regions.length > 0) status.regions = regions;
  else if (set.status?.regions !== undefined) status.regions = set.status.regions;
  return status;
}
