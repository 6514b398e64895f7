// What the informer cache keeps of an ImageShare. The reconcile reads the object from the cache (no GET, issue 19;
// src/kube/reconcile-store.ts) and compares the status it computes with the cached one, so the spec and the whole
// status are kept; of the metadata only what the reconcile, the event filter and the one-image-one-owner index read.
// Dropped on arrival: managedFields (often the largest part of an object), the last-applied-configuration
// annotation and labels.
import { API_VERSION, type ImageShare, type ImageShareStatus, KIND, type ObjectMeta } from '../api/types.ts';

/** The only annotation the controller reads from the cache: the manual reconcile trigger. */
export const KEPT_ANNOTATIONS = ['ecs.alicloud.dev/reconcile-requested-at'] as const;

/**
 * Every status field, kept (true) or dropped (false) by the cache. All are kept: a dropped field would look changed
 * to the reconcile's comparison and cost a status write on every pass. Typed as a complete record of
 * ImageShareStatus, so adding, renaming or removing a field is a type error here until it is decided.
 */
const STATUS_KEPT = {
  observedGeneration: true,
  conditions: true,
  managedAccounts: true,
  managedCommunity: true,
  pendingWrites: true,
  grantIdentity: true,
  managedSince: true,
  installation: true,
  image: true,
  community: true,
  sharedAccounts: true,
  sharedAccountCount: true,
  accounts: true,
  plan: true,
  lastSyncTime: true,
} as const satisfies Record<keyof ImageShareStatus, boolean>;

type KeptStatusField = {
  [K in keyof typeof STATUS_KEPT]: (typeof STATUS_KEPT)[K] extends true ? K : never;
}[keyof typeof STATUS_KEPT];

/** Status fields a cached object keeps, derived from STATUS_KEPT. */
export const KEPT_STATUS_FIELDS: readonly KeptStatusField[] = (
  Object.keys(STATUS_KEPT) as (keyof typeof STATUS_KEPT)[]
).filter((k): k is KeptStatusField => STATUS_KEPT[k]);

const KEPT_METADATA = [
  'name',
  'namespace',
  'uid',
  'generation',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'finalizers',
] as const satisfies readonly (keyof ObjectMeta)[];

/**
 * A new object with only the fields listed above; `raw` is not modified. Never throws on odd input (missing
 * metadata or status stay missing), so a malformed watch event cannot break the informer.
 */
export function leanImageShare(raw: ImageShare): ImageShare {
  const local = new Map<string, string>();
  const lean: ImageShare = {
    // The constants, not the copies JSON.parse made (one each per object otherwise).
    apiVersion: raw.apiVersion === API_VERSION ? API_VERSION : raw.apiVersion,
    kind: raw.kind === KIND ? KIND : raw.kind,
    metadata: leanMetadata(raw.metadata ?? ({} as ObjectMeta)),
    spec: compact(raw.spec, local),
  };
  if (raw.status !== undefined) lean.status = compact(leanStatus(raw.status), local);
  return lean;
}

function leanMetadata(m: ObjectMeta): ObjectMeta {
  const out: Record<string, unknown> = {};
  for (const k of KEPT_METADATA) if (m[k] !== undefined) out[k] = m[k];
  const annotations: Record<string, string> = {};
  for (const k of KEPT_ANNOTATIONS) {
    const v = m.annotations?.[k];
    if (v !== undefined) annotations[k] = v;
  }
  if (Object.keys(annotations).length > 0) out.annotations = annotations;
  return out as unknown as ObjectMeta;
}

function leanStatus(s: ImageShareStatus): ImageShareStatus {
  const out: ImageShareStatus = {};
  for (const k of KEPT_STATUS_FIELDS) copyField(s, out, k);
  // The installation and the grant identity are the same few values across objects, but not short words.
  if (out.installation !== undefined) out.installation = shared(out.installation);
  if (out.grantIdentity !== undefined) out.grantIdentity = shared(out.grantIdentity);
  return out;
}

function copyField<K extends keyof ImageShareStatus>(from: ImageShareStatus, to: ImageShareStatus, k: K): void {
  if (from[k] !== undefined) to[k] = from[k];
}

// JSON.parse makes a new string for every value, and an object with 20 accounts names each account four or five
// times (spec, sharedAccounts, managedAccounts, accounts[], managedSince) with the same few timestamps: about 140
// strings per object. Account IDs and short words (states, reasons, condition types) repeat across objects and are
// kept once per process (the pool is bounded); anything else once per object.
const SHARED = new Map<string, string>();
const SHARED_MAX = 100_000;
const SHAREABLE = /^(?:[0-9]{6,20}|[A-Za-z]{1,40})$/;

/** A copy of `v` in which equal strings are one string (see above). */
function compact<T>(v: T, local: Map<string, string>): T {
  if (typeof v === 'string') return intern(v, local) as T;
  if (Array.isArray(v)) return v.map((x: unknown) => compact(x, local)) as T;
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = compact(x, local);
    return out as T;
  }
  return v;
}

/** `s` from the process-wide pool (added while the pool has room). */
function shared(s: string): string {
  const known = SHARED.get(s);
  if (known !== undefined) return known;
  if (SHARED.size < SHARED_MAX) SHARED.set(s, s);
  return s;
}

function intern(s: string, local: Map<string, string>): string {
  if (s.length <= 40 && SHAREABLE.test(s)) return shared(s);
  const known = local.get(s);
  if (known !== undefined) return known;
  local.set(s, s);
  return s;
}
