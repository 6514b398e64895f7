// The emulator's world description: types, defaults and validation. A seed comes from YAML (the CLI, the demo) or
// JSON (POST /_admin/reset) and is always normalised through `normalizeSeed`, so the world never sees a missing
// field. Validation collects every problem and reports them all in one SeedError, each with its path.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

export const IMAGE_STATUSES = [
  'Creating',
  'Waiting',
  'Available',
  'UnAvailable',
  'CreateFailed',
  'Deprecated',
] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export const SITES = ['china', 'international', 'japan'] as const;
export type Site = (typeof SITES)[number];

/** none; service-key (cannot be shared); cmk (shareable under conditions); legacy (older encrypted-snapshot rule). */
export const ENCRYPTIONS = ['none', 'service-key', 'cmk', 'legacy'] as const;
export type Encryption = (typeof ENCRYPTIONS)[number];

/** State of the image's CMK in KMS; only consulted for `encryption: cmk`. */
export const KMS_STATES = ['ok', 'unauthorized', 'disabled', 'missing'] as const;
export type KmsState = (typeof KMS_STATES)[number];

export const LIST_OVERFLOWS = ['truncate', 'ignore-list'] as const;
export const UNPUBLISH_MODES = ['error', 'noop'] as const;

export interface EmulatorOptions {
  /** Per-image account limit (QuotaExceed.ShareImageUser past it). */
  maxAccountsPerImage: number;
  /** More than 10 entries in AddAccount/RemoveAccount: keep the first 10 (current docs) or drop the list (older docs). */
  listOverflow: (typeof LIST_OVERFLOWS)[number];
  /** IsPublic=false on a non-community image: Image.NotPublic (2025 docs) or a silent success (SDK 7.11 remarks). */
  unpublishNonCommunity: (typeof UNPUBLISH_MODES)[number];
  /** HTTP status of InvalidImageId.NotFound: 404 (EN tables) or 403 (some mirrors). */
  imageNotFoundStatus: 404 | 403;
  /** Allow sharing with accounts of another site (otherwise InvalidImageId.BidMismatch). */
  crossSiteSharing: boolean;
  /** How far x-acs-date may be from the emulator's clock; also how long nonces are remembered. */
  timestampSkewSeconds: number;
  /** Added to the real clock to get the emulator's clock (lets a test make the client's dates stale). */
  clockOffsetMs: number;
  /** DescribeImageSharePermission answers with the share list as it was this long ago. */
  readLagMs: number;
}

export interface SeedKey {
  accessKeyId: string;
  accessKeySecret: string;
  /** When set, the key is an STS credential and `x-acs-security-token` must equal it. */
  securityToken?: string;
  disabled: boolean;
  /** STS token expired: InvalidSecurityToken.Expired. */
  expired: boolean;
  /** An STS key also expires once the emulator's clock reaches this instant (ISO-8601), as STS sessions do. */
  expiresAt?: string;
  /** When set, any other action fails with Forbidden.RAM. */
  allowedActions?: string[];
}

export interface SeedOwner {
  id: string;
  site: Site;
  agreementSigned: boolean;
  shareEncryptedRole: boolean;
  launchPermissionPreview: boolean;
  /** How many of this owner's images may be shared (have at least one account) at once. */
  shareImageQuota: number;
  keys: SeedKey[];
}

export interface SeedAccount {
  id: string;
  site: Site;
}

export interface SeedRegion {
  id: string;
  /** Whether community images can be published in this region. */
  community: boolean;
}

export interface SeedShare {
  id: string;
  /** UTC ISO-8601 without milliseconds. */
  sharedTime: string;
}

export interface SeedImage {
  id: string;
  region: string;
  owner: string;
  name: string;
  description: string;
  status: ImageStatus;
  encryption: Encryption;
  snapshots: number;
  kms: KmsState;
  community: boolean;
  sharedWith: SeedShare[];
  creationTime: string;
  /** DescribeImages Progress; defaults from the status ("100%" when Available). */
  progress: string;
  /** Size in GiB. */
  size: number;
  /** Tags (TagResources), key → value. */
  tags: Record<string, string>;
  /** ImageFamily (DescribeImages filter and field; ModifyImageAttribute sets it); '' = in no family. */
  family: string;
}

/** A normalised world: every field present. */
export interface Seed {
  options: EmulatorOptions;
  owners: SeedOwner[];
  accounts: SeedAccount[];
  regions: SeedRegion[];
  sensitiveWords: string[];
  images: SeedImage[];
}

type Loose<T> = T extends readonly (infer U)[]
  ? Loose<U>[]
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> | undefined }
    : T;

/** What a user writes: every field with a default may be left out; `sharedWith` entries may be plain IDs. */
export type SeedInput = Omit<Loose<Seed>, 'images'> & {
  images?: Array<Omit<Loose<SeedImage>, 'sharedWith'> & { sharedWith?: Array<string | Loose<SeedShare>> }>;
};

export const DEFAULT_OPTIONS: EmulatorOptions = Object.freeze({
  maxAccountsPerImage: 50,
  listOverflow: 'truncate',
  unpublishNonCommunity: 'error',
  imageNotFoundStatus: 404,
  crossSiteSharing: false,
  timestampSkewSeconds: 900,
  clockOffsetMs: 0,
  readLagMs: 0,
});

export const DEFAULT_CREATION_TIME = '2025-01-01T00:00:00Z';

/** Thrown when a seed (or an admin patch) is invalid; `problems` lists every issue with its path. */
export class SeedError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid emulator seed:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SeedError';
    this.problems = problems;
  }
}

const FAKE_KEY_PREFIXES = ['LTAItest', 'STS.test'];
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ACCOUNT_ID = /^\d{1,20}$/;
const REGION_ID = /^[a-z]{2,}(-[a-z0-9]+)+$/;

type Rec = Record<string, unknown>;

/** Collects problems while reading loosely-typed input with defaults. */
class Reader {
  readonly problems: string[] = [];

  obj(v: unknown, path: string): Rec {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.problems.push(`${path}: must be a mapping`);
      return {};
    }
    return v as Rec;
  }

  list(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.problems.push(`${path}: must be a list`);
      return [];
    }
    return v;
  }

  str(o: Rec, key: string, path: string, def?: string): string {
    const v = o[key];
    if (v === undefined || v === null) {
      if (def === undefined) this.problems.push(`${path}.${key}: is required`);
      return def ?? '';
    }
    if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    if (typeof v !== 'string') {
      this.problems.push(`${path}.${key}: must be a string`);
      return def ?? '';
    }
    return v;
  }

  /** Account IDs are digit strings; YAML may read big ones as numbers, which lose precision, so insist on quotes. */
  id(o: Rec, key: string, path: string): string {
    const v = o[key];
    if (typeof v === 'number') {
      this.problems.push(`${path}.${key}: write account IDs as quoted strings (got the number ${v})`);
      return String(v);
    }
    const s = this.str(o, key, path);
    if (s !== '' && !ACCOUNT_ID.test(s)) this.problems.push(`${path}.${key}: "${s}" is not an account ID (digits)`);
    return s;
  }

  bool(o: Rec, key: string, path: string, def: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.problems.push(`${path}.${key}: must be true or false`);
      return def;
    }
    return v;
  }

  num(o: Rec, key: string, path: string, def: number, min: number): number {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      this.problems.push(`${path}.${key}: must be a number ≥ ${min}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string>(o: Rec, key: string, path: string, allowed: readonly T[], def: T): T {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${path}.${key}: must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
      return def;
    }
    return v as T;
  }
}

/**
 * Reads and validates options, starting from `base` (the defaults, or the current options for a PATCH).
 * Unknown keys are reported, so a typo never silently keeps a default.
 */
export function readOptions(r: Reader, input: unknown, base: EmulatorOptions, path = 'options'): EmulatorOptions {
  const o = r.obj(input, path);
  for (const k of Object.keys(o)) {
    if (!(k in DEFAULT_OPTIONS)) r.problems.push(`${path}.${k}: unknown option`);
  }
  const status = r.num(o, 'imageNotFoundStatus', path, base.imageNotFoundStatus, 0);
  if (status !== 404 && status !== 403) r.problems.push(`${path}.imageNotFoundStatus: must be 404 or 403`);
  return {
    maxAccountsPerImage: r.num(o, 'maxAccountsPerImage', path, base.maxAccountsPerImage, 1),
    listOverflow: r.oneOf(o, 'listOverflow', path, LIST_OVERFLOWS, base.listOverflow),
    unpublishNonCommunity: r.oneOf(o, 'unpublishNonCommunity', path, UNPUBLISH_MODES, base.unpublishNonCommunity),
    imageNotFoundStatus: status === 403 ? 403 : 404,
    crossSiteSharing: r.bool(o, 'crossSiteSharing', path, base.crossSiteSharing),
    timestampSkewSeconds: r.num(o, 'timestampSkewSeconds', path, base.timestampSkewSeconds, 1),
    clockOffsetMs: r.num(o, 'clockOffsetMs', path, base.clockOffsetMs, Number.NEGATIVE_INFINITY),
    readLagMs: r.num(o, 'readLagMs', path, base.readLagMs, 0),
  };
}

function readKey(r: Reader, input: unknown, path: string): SeedKey {
  const o = r.obj(input, path);
  const accessKeyId = r.str(o, 'accessKeyId', path);
  if (accessKeyId !== '' && !FAKE_KEY_PREFIXES.some((p) => accessKeyId.startsWith(p))) {
    r.problems.push(`${path}.accessKeyId: must start with LTAItest or STS.test (the emulator only takes fake keys)`);
  }
  const key: SeedKey = {
    accessKeyId,
    accessKeySecret: r.str(o, 'accessKeySecret', path),
    disabled: r.bool(o, 'disabled', path, false),
    expired: r.bool(o, 'expired', path, false),
  };
  if (o.securityToken !== undefined) key.securityToken = r.str(o, 'securityToken', path);
  if (key.expired && key.securityToken === undefined) {
    r.problems.push(`${path}.expired: only an STS key (with securityToken) can be expired`);
  }
  if (o.expiresAt !== undefined) {
    key.expiresAt = r.str(o, 'expiresAt', path);
    if (key.securityToken === undefined || Number.isNaN(Date.parse(key.expiresAt)))
      r.problems.push(`${path}.expiresAt: an ISO-8601 instant, only on an STS key (with securityToken)`);
  }
  if (o.allowedActions !== undefined) {
    key.allowedActions = r.list(o.allowedActions, `${path}.allowedActions`).map(String);
  }
  return key;
}

function readOwner(r: Reader, input: unknown, path: string): SeedOwner {
  const o = r.obj(input, path);
  return {
    id: r.id(o, 'id', path),
    site: r.oneOf(o, 'site', path, SITES, 'international'),
    agreementSigned: r.bool(o, 'agreementSigned', path, false),
    shareEncryptedRole: r.bool(o, 'shareEncryptedRole', path, false),
    launchPermissionPreview: r.bool(o, 'launchPermissionPreview', path, false),
    shareImageQuota: r.num(o, 'shareImageQuota', path, 100, 0),
    keys: r.list(o.keys, `${path}.keys`).map((k, i) => readKey(r, k, `${path}.keys[${i}]`)),
  };
}

function readShare(r: Reader, input: unknown, path: string, defaultTime: string): SeedShare {
  if (typeof input === 'string' || typeof input === 'number') {
    return { id: r.id({ id: input }, 'id', path), sharedTime: defaultTime };
  }
  const o = r.obj(input, path);
  const sharedTime = r.str(o, 'sharedTime', path, defaultTime);
  if (!ISO_SECONDS.test(sharedTime)) r.problems.push(`${path}.sharedTime: must look like 2025-01-01T00:00:00Z`);
  return { id: r.id(o, 'id', path), sharedTime };
}

function defaultProgress(status: ImageStatus): string {
  if (status === 'Creating' || status === 'Waiting') return '45%';
  return status === 'CreateFailed' ? '0%' : '100%';
}

function readIdentity(r: Reader, o: Rec, path: string): Pick<SeedImage, 'id' | 'region' | 'owner'> {
  const id = r.str(o, 'id', path);
  if (id !== '' && !id.startsWith('m-')) r.problems.push(`${path}.id: custom image IDs start with "m-"`);
  return { id, region: r.str(o, 'region', path), owner: r.id(o, 'owner', path) };
}

function defaultImage(identity: Pick<SeedImage, 'id' | 'region' | 'owner'>): SeedImage {
  return {
    ...identity,
    name: identity.id,
    description: '',
    status: 'Available',
    encryption: 'none',
    snapshots: 1,
    kms: 'ok',
    community: false,
    sharedWith: [],
    creationTime: DEFAULT_CREATION_TIME,
    progress: defaultProgress('Available'),
    size: 40,
    tags: {},
    family: '',
  };
}

/** Reads one image; with `base` (PATCH /_admin/images) only the given fields change and identity is kept. */
export function readImage(r: Reader, input: unknown, path: string, base?: SeedImage): SeedImage {
  const o = r.obj(input, path);
  const d = base ?? defaultImage(readIdentity(r, o, path));
  const creationTime = r.str(o, 'creationTime', path, d.creationTime);
  if (!ISO_SECONDS.test(creationTime)) r.problems.push(`${path}.creationTime: must look like 2025-01-01T00:00:00Z`);
  const status = r.oneOf(o, 'status', path, IMAGE_STATUSES, d.status);
  const img: SeedImage = {
    ...d,
    name: r.str(o, 'name', path, d.name),
    description: r.str(o, 'description', path, d.description),
    status,
    encryption: r.oneOf(o, 'encryption', path, ENCRYPTIONS, d.encryption),
    snapshots: r.num(o, 'snapshots', path, d.snapshots, 1),
    kms: r.oneOf(o, 'kms', path, KMS_STATES, d.kms),
    community: r.bool(o, 'community', path, d.community),
    creationTime,
    progress: r.str(o, 'progress', path, o.status === undefined ? d.progress : defaultProgress(status)),
    size: r.num(o, 'size', path, d.size, 1),
    tags: o.tags === undefined ? d.tags : readTags(r, o.tags, `${path}.tags`),
    family: r.str(o, 'family', path, d.family),
  };
  if (!base) {
    img.sharedWith = r
      .list(o.sharedWith, `${path}.sharedWith`)
      .map((s, i) => readShare(r, s, `${path}.sharedWith[${i}]`, creationTime));
  }
  return img;
}

/** A tag map (key → string value); PATCH replaces the whole map. */
function readTags(r: Reader, input: unknown, path: string): Record<string, string> {
  const o = r.obj(input, path);
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'string') r.problems.push(`${path}.${k}: must be a string`);
    else tags[k] = v;
  }
  return tags;
}

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

function checkUniqueness(r: Reader, seed: Seed): void {
  const ownerIds = seed.owners.map((o) => o.id);
  for (const d of duplicates(ownerIds)) r.problems.push(`owners: duplicate id ${d}`);
  for (const d of duplicates([...new Set(ownerIds), ...seed.accounts.map((a) => a.id)])) {
    r.problems.push(`accounts: ${d} is listed twice (owners count as known accounts already)`);
  }
  const keyIds = seed.owners.flatMap((o) => o.keys.map((k) => k.accessKeyId));
  for (const d of duplicates(keyIds)) r.problems.push(`owners[].keys: duplicate accessKeyId ${d}`);
  for (const d of duplicates(seed.regions.map((g) => g.id))) r.problems.push(`regions: duplicate id ${d}`);
  seed.regions.forEach((g, i) => {
    if (!REGION_ID.test(g.id)) r.problems.push(`regions[${i}].id: "${g.id}" is not a region ID like cn-hangzhou`);
  });
  for (const d of duplicates(seed.images.map((m) => `${m.region}/${m.id}`))) {
    r.problems.push(`images: duplicate image ${d}`);
  }
}

function checkImageReferences(r: Reader, seed: Seed): void {
  const ownerIds = new Set(seed.owners.map((o) => o.id));
  const known = new Set([...ownerIds, ...seed.accounts.map((a) => a.id)]);
  const regions = new Set(seed.regions.map((g) => g.id));
  seed.images.forEach((m, i) => {
    const p = `images[${i}] (${m.id})`;
    if (!ownerIds.has(m.owner)) r.problems.push(`${p}.owner: owner ${m.owner} not found in owners`);
    if (!regions.has(m.region)) r.problems.push(`${p}.region: region ${m.region} not found in regions`);
    for (const d of duplicates(m.sharedWith.map((s) => s.id))) r.problems.push(`${p}.sharedWith: ${d} listed twice`);
    for (const s of m.sharedWith) {
      if (!known.has(s.id)) r.problems.push(`${p}.sharedWith: account ${s.id} is not a known account`);
      if (s.id === m.owner) r.problems.push(`${p}.sharedWith: an image cannot be shared with its owner`);
    }
  });
}

/**
 * Validates `input` and fills every default. Guarantees a fully populated, internally consistent Seed (owners,
 * regions and share recipients referenced by images exist; IDs unique). Throws SeedError listing every problem.
 */
export function normalizeSeed(input: unknown): Seed {
  const r = new Reader();
  const o = r.obj(input, 'seed');
  for (const k of Object.keys(o)) {
    if (!['options', 'owners', 'accounts', 'regions', 'sensitiveWords', 'images'].includes(k)) {
      r.problems.push(`seed.${k}: unknown top-level field`);
    }
  }
  const seed: Seed = {
    options: readOptions(r, o.options, DEFAULT_OPTIONS),
    owners: r.list(o.owners, 'owners').map((x, i) => readOwner(r, x, `owners[${i}]`)),
    accounts: r.list(o.accounts, 'accounts').map((x, i) => {
      const a = r.obj(x, `accounts[${i}]`);
      return {
        id: r.id(a, 'id', `accounts[${i}]`),
        site: r.oneOf(a, 'site', `accounts[${i}]`, SITES, 'international'),
      };
    }),
    regions: r.list(o.regions, 'regions').map((x, i) => {
      const g = r.obj(x, `regions[${i}]`);
      return { id: r.str(g, 'id', `regions[${i}]`), community: r.bool(g, 'community', `regions[${i}]`, true) };
    }),
    sensitiveWords: r.list(o.sensitiveWords, 'sensitiveWords').map(String),
    images: r.list(o.images, 'images').map((x, i) => readImage(r, x, `images[${i}]`)),
  };
  checkUniqueness(r, seed);
  checkImageReferences(r, seed);
  if (r.problems.length > 0) throw new SeedError(r.problems);
  return seed;
}

/** Validates a partial options object against `current`. Throws SeedError on unknown keys or bad values. */
export function mergeOptions(current: EmulatorOptions, patch: unknown): EmulatorOptions {
  const r = new Reader();
  const next = readOptions(r, patch, current);
  if (r.problems.length > 0) throw new SeedError(r.problems);
  return next;
}

/** Applies a partial image patch (no id/region/owner/sharedWith changes). Throws SeedError on bad values. */
export function mergeImage(current: SeedImage, patch: unknown): SeedImage {
  const r = new Reader();
  const o = r.obj(patch, 'patch');
  for (const k of ['id', 'region', 'owner', 'sharedWith']) {
    if (o[k] !== undefined) r.problems.push(`patch.${k}: cannot be changed (use the shares route for sharedWith)`);
  }
  const next = readImage(r, o, 'patch', current);
  if (r.problems.length > 0) throw new SeedError(r.problems);
  return next;
}

/** One image in seed form with every default filled (POST /_admin/images). Throws SeedError on bad values. */
export function parseImage(input: unknown): SeedImage {
  const r = new Reader();
  const image = readImage(r, input, 'image');
  if (r.problems.length > 0) throw new SeedError(r.problems);
  return image;
}

/** Applies a partial owner patch (no id/keys changes). Throws SeedError on bad values. */
export function mergeOwner(current: SeedOwner, patch: unknown): SeedOwner {
  const r = new Reader();
  const o = r.obj(patch, 'patch');
  for (const k of ['id', 'keys']) if (o[k] !== undefined) r.problems.push(`patch.${k}: cannot be changed`);
  const next = readOwner(r, { ...current, ...o, id: current.id, keys: current.keys }, 'patch');
  if (r.problems.length > 0) throw new SeedError(r.problems);
  return next;
}

/** Validates one key added through the admin API (an STS stand-in's new session). Throws SeedError. */
export function readNewKey(input: unknown): SeedKey {
  const r = new Reader();
  const key = readKey(r, input, 'key');
  if (r.problems.length > 0) throw new SeedError(r.problems);
  return key;
}

/** Parses YAML (or JSON, which is YAML) text into a normalised Seed. Throws SeedError on syntax or content errors. */
export function parseSeedText(text: string, source = 'seed'): Seed {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err: unknown) {
    throw new SeedError([`${source}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
  return normalizeSeed(doc);
}

/** Reads a seed file (YAML or JSON). Throws SeedError when it cannot be read or is invalid. */
export async function loadSeedFile(path: string): Promise<Seed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new SeedError([`${path}: cannot read: ${err instanceof Error ? err.message : String(err)}`]);
  }
  return parseSeedText(text, path);
}
