// The emulated ECS account world: images, their share lists and community flags, owners and known accounts, and
// the rules of DescribeImages, DescribeImageSharePermission and ModifyImageSharePermission. Pure apart from the
// injected clock: no I/O, so every rule can be driven directly or over HTTP. Action methods return the reply body
// without RequestId (the server adds it) and throw EcsApiError for documented failures.
import { type EcsErrorCode, ecsError } from './errors.ts';
import {
  type EmulatorOptions,
  IMAGE_STATUSES,
  mergeImage,
  mergeOptions,
  mergeOwner,
  parseImage,
  readNewKey,
  type Seed,
  type SeedImage,
  type SeedOwner,
  type SeedShare,
  type Site,
  SeedError,
} from './seed.ts';

export type Params = Record<string, string>;

/** An admin request named an image or owner that does not exist (the admin API answers 404). */
export class AdminNotFoundError extends Error {
  constructor(what: string) {
    super(`${what} not found`);
    this.name = 'AdminNotFoundError';
  }
}
export type Body = Record<string, unknown>;

/** A real-time clock in epoch milliseconds; the emulator's own clock adds `options.clockOffsetMs`. */
export type Clock = () => number;

interface ImageState {
  meta: SeedImage;
  /** account ID → SharedTime, in grant order. */
  shares: Map<string, string>;
  /** Share lists and community flags over (real) time, oldest first, for `readLagMs`. */
  history: Array<{ at: number; shares: SeedShare[]; community: boolean }>;
}

/** ECS's limit of tags per resource, and of Tag.N / TagKey.N per call. */
const MAX_TAGS = 20;

/** Tag.N.Key / Tag.N.Value pairs in index order. */
function tagParams(p: Params): Array<{ key: string; value: string }> {
  const byIndex = new Map<number, { key: string; value: string }>();
  for (const [k, v] of Object.entries(p)) {
    const m = /^Tag\.(\d+)\.(Key|Value)$/.exec(k);
    if (!m) continue;
    const t = byIndex.get(Number(m[1])) ?? { key: '', value: '' };
    if (m[2] === 'Key') t.key = v;
    else t.value = v;
    byIndex.set(Number(m[1]), t);
  }
  return [...byIndex].sort(([a], [b]) => a - b).map(([, t]) => t);
}

/** ECS's tag text rules: up to 128 characters, no aliyun/acs: prefix, no http:// or https://; keys not empty. */
function validTagText(text: string, emptyOk: boolean): boolean {
  if (text === '') return emptyOk;
  if (text.length > 128) return false;
  if (/^(aliyun|acs:)/i.test(text)) return false;
  return !/https?:\/\//i.test(text);
}

/** Max entries per list that a call honours (reference §1.2). */
export const MAX_ACCOUNTS_PER_CALL = 10;
const HISTORY_LIMIT = 500;

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Values of `Prefix.1`, `Prefix.2`, … in index order (the SDK's flattening of an array parameter). */
export function listParam(p: Params, prefix: string): string[] {
  const re = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)$`);
  return Object.entries(p)
    .map(([k, v]) => [re.exec(k)?.[1], v] as const)
    .filter((e): e is readonly [string, string] => e[0] !== undefined)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map((e) => e[1]);
}

function boolParam(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined || v === '') return undefined;
  if (/^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  throw ecsError('InvalidParameter', { args: [name] });
}

function intParam(p: Params, name: string, def: number, min: number, max: number): number {
  const v = p[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw ecsError('InvalidParameter', { args: [name] });
  return n;
}

function required(p: Params, name: string): string {
  const v = p[name];
  if (v === undefined || v === '') throw ecsError('MissingParameter', { args: [name] });
  return v;
}

function sortedShares(shares: Map<string, string>): SeedShare[] {
  return [...shares]
    .map(([id, sharedTime]) => ({ id, sharedTime }))
    .sort((a, b) => (a.sharedTime === b.sharedTime ? cmp(a.id, b.id) : cmp(a.sharedTime, b.sharedTime)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function page<T>(items: T[], p: Params): { items: T[]; pageNumber: number; pageSize: number } {
  const pageSize = intParam(p, 'PageSize', 10, 1, 100);
  const pageNumber = intParam(p, 'PageNumber', 1, 1, Number.MAX_SAFE_INTEGER);
  return { items: items.slice((pageNumber - 1) * pageSize, pageNumber * pageSize), pageNumber, pageSize };
}

/** The parsed account lists of one MISP call, after the 10-per-list rule. */
interface ShareRequest {
  add: string[];
  remove: string[];
  /** Whether any list was sent at all (before overflow handling), for the IsPublic/LaunchPermission conflicts. */
  listsSent: boolean;
  isPublic: boolean | undefined;
}

/**
 * DescribeImages' selection filters (pkg:@alicloud/ecs20140526 models/DescribeImagesRequest.d.ts): ImageFamily
 * (exact), ImageName ("fuzzy search": modelled as a case-sensitive substring; the exact fuzziness is not documented)
 * and Tag.N.Key/Tag.N.Value (every pair must match; a pair without a value matches the key with any value; 1-20 pairs,
 * InvalidTagCount past 20).
 */
function imageFilter(p: Params): (s: ImageState) => boolean {
  const family = p.ImageFamily ?? '';
  const name = p.ImageName ?? '';
  const tags = tagParams(p);
  if (tags.length > MAX_TAGS) throw ecsError('InvalidTagCount');
  return (s) =>
    (family === '' || s.meta.family === family) &&
    (name === '' || s.meta.name.includes(name)) &&
    tags.every((t) => t.key in s.meta.tags && (t.value === '' || s.meta.tags[t.key] === t.value));
}

export class World {
  private readonly clock: Clock;
  private opts: EmulatorOptions;
  private readonly owners = new Map<string, SeedOwner>();
  private readonly sites = new Map<string, Site>();
  private readonly regions = new Map<string, boolean>();
  private readonly images = new Map<string, ImageState>();
  private sensitiveWords: string[];

  /** Builds the world from a normalised seed (see normalizeSeed). */
  constructor(seed: Seed, clock: Clock = Date.now) {
    this.clock = clock;
    this.opts = { ...seed.options };
    this.sensitiveWords = seed.sensitiveWords.map((w) => w.toLowerCase());
    for (const a of seed.accounts) this.sites.set(a.id, a.site);
    for (const o of seed.owners) {
      this.owners.set(o.id, structuredClone(o));
      this.sites.set(o.id, o.site);
    }
    for (const g of seed.regions) this.regions.set(g.id, g.community);
    for (const m of seed.images) {
      const shares = new Map(m.sharedWith.map((s) => [s.id, s.sharedTime] as const));
      const meta = structuredClone({ ...m, sharedWith: [] });
      this.images.set(`${m.region}/${m.id}`, {
        meta,
        shares,
        history: [{ at: -Infinity, shares: sortedShares(shares), community: meta.community }],
      });
    }
  }

  get options(): Readonly<EmulatorOptions> {
    return this.opts;
  }

  /** The emulator's clock: real time plus `clockOffsetMs`. */
  now(): number {
    return this.clock() + this.opts.clockOffsetMs;
  }

  /** The key with this ID and the owner holding it. */
  findKey(accessKeyId: string): { key: SeedOwner['keys'][number]; ownerId: string } | undefined {
    for (const o of this.owners.values()) {
      const key = o.keys.find((k) => k.accessKeyId === accessKeyId);
      if (key) return { key, ownerId: o.id };
    }
    return undefined;
  }

  // ---------------------------------------------------------------- DescribeImages

  /** DescribeImages: the caller's view of a region (own, shared-with-me and, with IsPublic=true, community images). */
  describeImages(caller: string, p: Params): Body {
    const regionId = this.region(p);
    const alias = p.ImageOwnerAlias ?? '';
    if (!['', 'self', 'others', 'system', 'marketplace'].includes(alias)) {
      throw ecsError('InvalidImageOwnerAlias.ValueNotSupported');
    }
    const wantPublic = boolParam(p, 'IsPublic') === true;
    if (wantPublic && alias !== '' && alias !== 'others')
      throw ecsError('InvalidImageOwnerAlias.PublicImageUnsupported');
    const statuses = this.statusFilter(p.Status);
    const ids = p.ImageId ? new Set(p.ImageId.split(',').map((s) => s.trim())) : undefined;
    const visible = [...this.images.values()]
      .filter((s) => s.meta.region === regionId && statuses.has(s.meta.status))
      .filter((s) => ids === undefined || ids.has(s.meta.id))
      .filter(imageFilter(p))
      .filter((s) => this.visibleAlias(s, caller, alias, wantPublic))
      .sort((a, b) => cmp(b.meta.creationTime, a.meta.creationTime) || cmp(a.meta.id, b.meta.id));
    const pg = page(visible, p);
    if (boolParam(p, 'DryRun')) throw ecsError('DryRunOperation');
    return {
      RegionId: regionId,
      PageNumber: pg.pageNumber,
      PageSize: pg.pageSize,
      TotalCount: visible.length,
      Images: { Image: pg.items.map((s) => this.imageView(s, caller)) },
    };
  }

  private statusFilter(raw: string | undefined): Set<string> {
    if (raw === undefined || raw === '') return new Set(['Available']);
    const parts = raw.split(',').map((s) => s.trim());
    if (parts.length === 1 && parts[0] === 'ALL') return new Set(IMAGE_STATUSES);
    if (parts.some((s) => !(IMAGE_STATUSES as readonly string[]).includes(s))) {
      throw ecsError('InvalidParameter', { args: ['Status'] });
    }
    return new Set(parts);
  }

  /** Whether `caller` sees the image under the requested alias ('' = self + others). */
  private visibleAlias(s: ImageState, caller: string, alias: string, wantPublic: boolean): boolean {
    const mine = s.meta.owner === caller;
    const sharedWithMe = s.shares.has(caller);
    const communityOther = !mine && s.meta.community && wantPublic;
    if (alias === 'self') return mine;
    if (alias === 'others') return !mine && (sharedWithMe || communityOther);
    if (alias === '') return mine || sharedWithMe || communityOther;
    return false; // system and marketplace images are not modelled
  }

  private imageView(s: ImageState, caller: string): Body {
    const m = s.meta;
    const mine = m.owner === caller;
    const encrypted = m.encryption !== 'none';
    const view: Body = {
      ImageId: m.id,
      ImageName: m.name,
      Description: m.description,
      Status: m.status,
      Progress: m.progress,
      CreationTime: m.creationTime,
      ImageOwnerAlias: mine ? 'self' : 'others',
      ImageFamily: m.family,
      IsPublic: this.lagged(s).community,
      IsSelfShared: mine && s.shares.size > 0 ? 'True' : 'False',
      IsCopied: false,
      IsSubscribed: false,
      IsSupportCloudinit: true,
      IsSupportIoOptimized: true,
      Usage: 'none',
      Size: m.size,
      OSType: 'linux',
      OSName: 'Ubuntu 24.04 64 bit',
      OSNameEn: 'Ubuntu 24.04 64 bit',
      Platform: 'Ubuntu',
      Architecture: 'x86_64',
      BootMode: 'UEFI',
      ProductCode: '',
      // Only the owner sees an image's tags.
      Tags: { Tag: mine ? Object.entries(m.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) : [] },
      DiskDeviceMappings: {
        DiskDeviceMapping: Array.from({ length: m.snapshots }, (_, i) => ({
          Device: `/dev/xvd${String.fromCharCode(97 + (i % 26))}`,
          Size: String(i === 0 ? m.size : 20),
          SnapshotId: `s-${m.id.slice(2)}${i}`,
          Type: i === 0 ? 'system' : 'data',
          Format: '',
          Progress: m.progress,
          Encrypted: encrypted,
        })),
      },
    };
    if (!mine) view.ImageOwnerId = Number(m.owner);
    return view;
  }

  // ---------------------------------------------------------------- DescribeImageSharePermission

  /** DescribeImageSharePermission: one page of the accounts, sorted by (SharedTime, AliyunId); lagged by readLagMs. */
  describeImageSharePermission(caller: string, p: Params): Body {
    const s = this.ownedImage(caller, p);
    const seen = this.lagged(s);
    const shares = seen.shares;
    const pg = page(shares, p);
    return {
      RegionId: s.meta.region,
      ImageId: s.meta.id,
      PageNumber: pg.pageNumber,
      PageSize: pg.pageSize,
      TotalCount: shares.length,
      ShareGroups: { ShareGroup: seen.community ? [{ Group: 'all' }] : [] },
      Accounts: { Account: pg.items.map((a) => ({ AliyunId: a.id, SharedTime: a.sharedTime })) },
    };
  }

  /** What reads show: the state `readLagMs` ago (writes become visible to Describe* only after the lag). */
  private lagged(s: ImageState): { shares: SeedShare[]; community: boolean } {
    if (this.opts.readLagMs <= 0) return { shares: sortedShares(s.shares), community: s.meta.community };
    const cutoff = this.clock() - this.opts.readLagMs;
    let chosen = s.history[0] ?? { shares: [], community: false };
    for (const h of s.history) if (h.at <= cutoff) chosen = h;
    return chosen;
  }

  // ---------------------------------------------------------------- ModifyImageSharePermission

  /**
   * ModifyImageSharePermission with every documented rule. Atomic: every check runs before anything changes, and a
   * failure (or DryRun) leaves the image untouched. Removes apply before adds, and the quota is checked on the result.
   */
  modifyImageSharePermission(caller: string, p: Params): Body {
    const s = this.ownedImage(caller, p);
    const owner = this.owner(caller);
    const req = this.shareRequest(p);
    this.checkLegacyGroups(p);
    if (req.isPublic !== undefined && req.listsSent) throw ecsError('InvalidParameter.IsPublic');
    this.checkLaunchPermission(p, req, owner);
    if (req.add.length > 0) this.checkShareable(s, owner, req.add);
    if (req.remove.length > 0) this.checkRemovable(caller, req.remove);
    const next = new Map(s.shares);
    for (const id of req.remove) next.delete(id);
    const at = isoSeconds(this.now());
    for (const id of req.add) if (!next.has(id)) next.set(id, at);
    this.checkQuotas(s, owner, next);
    const community = this.nextCommunity(s, owner, req.isPublic);
    if (boolParam(p, 'DryRun')) throw ecsError('DryRunOperation');
    s.meta.community = community;
    this.setShares(s, next);
    return {};
  }

  private shareRequest(p: Params): ShareRequest {
    const rawAdd = listParam(p, 'AddAccount');
    const rawRemove = listParam(p, 'RemoveAccount');
    const cap = (l: string[]): string[] => {
      if (l.length <= MAX_ACCOUNTS_PER_CALL) return l;
      return this.opts.listOverflow === 'truncate' ? l.slice(0, MAX_ACCOUNTS_PER_CALL) : [];
    };
    return {
      add: [...new Set(cap(rawAdd))],
      remove: [...new Set(cap(rawRemove))],
      listsSent: rawAdd.length + rawRemove.length > 0,
      isPublic: boolParam(p, 'IsPublic'),
    };
  }

  /** AddGroup.N/RemoveGroup.N survive from the deprecated group API; `all` is the only value it ever took. */
  private checkLegacyGroups(p: Params): void {
    const groups = [...listParam(p, 'AddGroup'), ...listParam(p, 'RemoveGroup')];
    if (groups.some((g) => g !== 'all')) throw ecsError('InvalidGroup.Malformed');
  }

  private checkLaunchPermission(p: Params, req: ShareRequest, owner: SeedOwner): void {
    const lp = p.LaunchPermission;
    if (lp === undefined || lp === '') return;
    if (req.listsSent) throw ecsError('UnnecessaryParameter.LaunchPermission');
    if (lp !== 'hide') throw ecsError('InvalidParameter.LaunchPermission');
    if (!owner.launchPermissionPreview) throw ecsError('ForbiddenParameter.LaunchPermission');
  }

  /** Rules for granting: image state, community exclusivity, encryption, then the accounts themselves. */
  private checkShareable(s: ImageState, owner: SeedOwner, add: string[]): void {
    this.checkStatus(s);
    if (s.meta.community) throw ecsError('Image.Public');
    this.checkEncryptionForShare(s, owner);
    if (add.includes(owner.id)) throw ecsError('InvalidAccount.Forbbiden');
    const unknown = add.find((id) => !this.sites.has(id));
    if (unknown !== undefined) throw ecsError('InvalidAccount.NotFound', { args: [unknown] });
    if (!this.opts.crossSiteSharing) {
      const foreign = add.filter((id) => this.sites.get(id) !== owner.site);
      if (foreign.length > 0) throw ecsError('InvalidImageId.BidMismatch', { args: [foreign.join(',')] });
    }
  }

  private checkRemovable(caller: string, remove: string[]): void {
    if (remove.includes(caller)) throw ecsError('InvalidAccount.Forbbiden');
    const unknown = remove.find((id) => !this.sites.has(id));
    if (unknown !== undefined) throw ecsError('InvalidAccount.NotFound', { args: [unknown] });
  }

  private checkStatus(s: ImageState): void {
    const st = s.meta.status;
    if (st === 'Deprecated') throw ecsError('OperationDenied.InvalidImageStatus');
    if (st !== 'Available') throw ecsError('IncorrectImageStatus');
  }

  private checkEncryptionForShare(s: ImageState, owner: SeedOwner): void {
    const m = s.meta;
    if (m.encryption === 'service-key') throw ecsError('InvalidOperation.ServiceKeyEncryptedImageUnsupported');
    if (m.encryption === 'legacy') throw ecsError('OperationDeined.EncryptedSnapshot');
    if (m.encryption !== 'cmk') return;
    if (m.snapshots > 1) throw ecsError('OperationDeined.FullImage');
    if (!owner.shareEncryptedRole) throw ecsError('AssumeRoleError');
    const kmsCodes: Record<string, EcsErrorCode> = {
      unauthorized: 'InvalidParameter.KMSKeyId.CMKUnauthorized',
      disabled: 'InvalidParameter.KMSKeyId.CMKNotEnabled',
      missing: 'InvalidKMSKeyId.NotFound',
    };
    const code = kmsCodes[m.kms];
    if (code) throw ecsError(code);
  }

  /** The 50-per-image quota on the resulting set, and the owner-wide count of shared images. */
  private checkQuotas(s: ImageState, owner: SeedOwner, next: Map<string, string>): void {
    const grows = [...next.keys()].some((id) => !s.shares.has(id));
    if (!grows) return;
    if (next.size > this.opts.maxAccountsPerImage) throw ecsError('QuotaExceed.ShareImageUser');
    if (s.shares.size > 0) return;
    const sharedElsewhere = [...this.images.values()].filter(
      (o) => o !== s && o.meta.owner === owner.id && o.shares.size > 0,
    ).length;
    if (sharedElsewhere + 1 > owner.shareImageQuota) throw ecsError('QuotaExceed.ShareImage');
  }

  /** The community flag after the call; publishing runs the community-image checks. */
  private nextCommunity(s: ImageState, owner: SeedOwner, isPublic: boolean | undefined): boolean {
    const m = s.meta;
    if (isPublic === undefined) return m.community;
    if (!isPublic) {
      if (!m.community && this.opts.unpublishNonCommunity === 'error') throw ecsError('Image.NotPublic');
      return false;
    }
    if (m.community) return true;
    if (!this.regions.get(m.region)) throw ecsError('CurrentRegion.NotSupportPublicImage');
    if (!owner.agreementSigned) throw ecsError('PublicImageAgreement.NotSigned');
    this.checkStatus(s);
    // No code is documented for "encrypted images cannot be published"; the closest is the encrypted-snapshot one.
    if (m.encryption !== 'none') throw ecsError('OperationDeined.EncryptedSnapshot');
    if (this.hasSensitiveWord(m.name)) throw ecsError('ImageName.ContainsSensitiveWords');
    if (this.hasSensitiveWord(m.description)) throw ecsError('ImageDescription.ContainsSensitiveWords');
    return true;
  }

  private hasSensitiveWord(text: string): boolean {
    const t = text.toLowerCase();
    return this.sensitiveWords.some((w) => w !== '' && t.includes(w));
  }

  // ---------------------------------------------------------------- ModifyImageAttribute / DeleteImage

  /**
   * ModifyImageAttribute, the fields the fleet needs: Status (Deprecated | Available: deprecating is how this SDK
   * version's DeprecateImage is spelled, models/ModifyImageAttributeRequest.d.ts), ImageFamily, ImageName and
   * Description. Deprecating a shared image is accepted: the SDK remarks ask the owner to unshare first but document no
   * error code for it. A Deprecated image cannot be shared (MISP: OperationDenied.InvalidImageStatus).
   */
  modifyImageAttribute(caller: string, p: Params): Body {
    const s = this.ownedImage(caller, p);
    const status = p.Status;
    if (status !== undefined && status !== '' && status !== 'Deprecated' && status !== 'Available')
      throw ecsError('InvalidParameter', { args: ['Status'] });
    if ((status === 'Deprecated' || status === 'Available') && !['Available', 'Deprecated'].includes(s.meta.status))
      throw ecsError('IncorrectImageStatus');
    if (boolParam(p, 'DryRun')) throw ecsError('DryRunOperation');
    if (status === 'Deprecated' || status === 'Available') s.meta.status = status;
    if (p.ImageFamily !== undefined) s.meta.family = p.ImageFamily;
    if (p.ImageName !== undefined && p.ImageName !== '') s.meta.name = p.ImageName;
    if (p.Description !== undefined) s.meta.description = p.Description;
    return {};
  }

  /**
   * DeleteImage (models/DeleteImageRequest.d.ts): "If the specified custom image does not exist, the request is
   * ignored", so an unknown ID of the caller's region succeeds. Instances are not modelled, so Force changes nothing.
   */
  deleteImage(caller: string, p: Params): Body {
    const regionId = this.region(p);
    const imageId = required(p, 'ImageId');
    const s = this.images.get(`${regionId}/${imageId}`);
    if (s !== undefined && s.meta.owner !== caller) throw ecsError('InvalidImageId.NotFound');
    if (boolParam(p, 'DryRun')) throw ecsError('DryRunOperation');
    if (s !== undefined) this.images.delete(`${regionId}/${imageId}`);
    return {};
  }

  // ---------------------------------------------------------------- TagResources / UntagResources

  /**
   * TagResources, for images (the only resource type modelled; the other documented types are refused as unknown
   * here). 1–50 ResourceId.N, 1–20 Tag.N; keys 1–128 characters, values up to 128, neither starting with `aliyun`
   * or `acs:` nor containing `http://` or `https://`; an existing key takes the new value; at most 20 tags per image
   * (OperationDenied.QuotaExceed). All-or-nothing: one bad resource ID fails the call.
   */
  tagResources(caller: string, p: Params): Body {
    const images = this.taggedImages(caller, p);
    const tags = tagParams(p);
    if (tags.length < 1 || tags.length > MAX_TAGS) throw ecsError('InvalidParameter', { args: ['Tag'] });
    for (const t of tags) {
      if (!validTagText(t.key, false)) throw ecsError('InvalidTagKey.Malformed');
      if (!validTagText(t.value, true)) throw ecsError('InvalidTagValue.Malformed');
    }
    for (const s of images) {
      const next = { ...s.meta.tags };
      for (const t of tags) next[t.key] = t.value;
      if (Object.keys(next).length > MAX_TAGS) throw ecsError('OperationDenied.QuotaExceed');
    }
    for (const s of images) for (const t of tags) s.meta.tags[t.key] = t.value;
    return {};
  }

  /**
   * STS AssumeRole (2015-04-01), enough for the operator's roleArn path: `acs:ram::<owner>:role/<name>` of a seeded
   * owner hands out that owner's first unexpired STS key (one with a securityToken) for DurationSeconds (900–43200,
   * default 3600). Any authenticated caller may assume it (no trust policy); EntityNotExist.Role otherwise.
   */
  assumeRole(_caller: string, p: Params): Body {
    const arn = p.RoleArn ?? '';
    const owner = /^acs:ram::(\d+):role\/[\w.@+=,-]+$/.exec(arn)?.[1];
    if (p.RoleSessionName === undefined || p.RoleSessionName === '')
      throw ecsError('MissingParameter', { args: ['RoleSessionName'] });
    const duration = Number(p.DurationSeconds ?? '3600');
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200)
      throw ecsError('InvalidParameter', { args: ['DurationSeconds'] });
    const key =
      owner === undefined ? undefined : this.owners.get(owner)?.keys.find((k) => k.securityToken && !k.expired);
    if (owner === undefined || key?.securityToken === undefined) throw ecsError('EntityNotExist.Role');
    const expiration = new Date(this.now() + duration * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      AssumedRoleUser: { Arn: `${arn}/${p.RoleSessionName}`, AssumedRoleId: `3${owner}:${p.RoleSessionName}` },
      Credentials: {
        AccessKeyId: key.accessKeyId,
        AccessKeySecret: key.accessKeySecret,
        SecurityToken: key.securityToken,
        Expiration: expiration,
      },
    };
  }

  /** UntagResources: removes TagKey.N (1–20) or, with All=true and no keys, every tag. Missing keys are ignored. */
  untagResources(caller: string, p: Params): Body {
    const images = this.taggedImages(caller, p);
    const keys = listParam(p, 'TagKey');
    const all = boolParam(p, 'All') === true;
    if (keys.length > MAX_TAGS || (keys.length === 0 && !all)) throw ecsError('InvalidParameter', { args: ['TagKey'] });
    for (const s of images) {
      if (keys.length === 0) s.meta.tags = {};
      for (const k of keys) delete s.meta.tags[k];
    }
    return {};
  }

  /** The caller's images named by ResourceId.N (1–50) under ResourceType image. */
  private taggedImages(caller: string, p: Params): ImageState[] {
    const regionId = this.region(p);
    const type = required(p, 'ResourceType');
    if (type !== 'image') throw ecsError('InvalidResourceType.NotFound');
    const ids = listParam(p, 'ResourceId');
    if (ids.length === 0) throw ecsError('MissingParameter', { args: ['ResourceId.N'] });
    if (ids.length > 50) throw ecsError('InvalidParameter', { args: ['ResourceId'] });
    return ids.map((id) => {
      const s = this.images.get(`${regionId}/${id}`);
      if (!s || s.meta.owner !== caller) throw ecsError('InvalidResourceId.NotFound');
      return s;
    });
  }

  // ---------------------------------------------------------------- shared lookups

  private region(p: Params): string {
    const regionId = required(p, 'RegionId');
    if (!this.regions.has(regionId)) throw ecsError('InvalidRegionId.NotFound');
    return regionId;
  }

  /** The caller's own image named by RegionId/ImageId; anything else is InvalidImageId.NotFound. */
  private ownedImage(caller: string, p: Params): ImageState {
    const regionId = required(p, 'RegionId');
    const imageId = required(p, 'ImageId');
    if (!this.regions.has(regionId)) throw ecsError('InvalidRegionId.NotFound');
    const s = this.images.get(`${regionId}/${imageId}`);
    if (!s || s.meta.owner !== caller) {
      throw ecsError('InvalidImageId.NotFound', { status: this.opts.imageNotFoundStatus });
    }
    return s;
  }

  private owner(id: string): SeedOwner {
    const o = this.owners.get(id);
    if (!o) throw new Error(`owner ${id} vanished from the world`);
    return o;
  }

  /** Records the image's current share list and community flag (call after every change of either). */
  private setShares(s: ImageState, next: Map<string, string>): void {
    s.shares = next;
    s.history.push({ at: this.clock(), shares: sortedShares(next), community: s.meta.community });
    if (s.history.length > HISTORY_LIMIT) s.history.splice(0, s.history.length - HISTORY_LIMIT);
  }

  // ---------------------------------------------------------------- admin (out-of-band, no rules)

  /** The whole world in seed form (share lists sorted by SharedTime, then ID). Secrets included: test-only. */
  state(): Seed {
    return {
      options: { ...this.opts },
      owners: [...this.owners.values()].map((o) => structuredClone(o)),
      accounts: [...this.sites].filter(([id]) => !this.owners.has(id)).map(([id, site]) => ({ id, site })),
      regions: [...this.regions].map(([id, community]) => ({ id, community })),
      sensitiveWords: [...this.sensitiveWords],
      images: [...this.images.values()].map((s) => this.imageState(s)),
    };
  }

  private imageState(s: ImageState): SeedImage {
    return { ...structuredClone(s.meta), sharedWith: sortedShares(s.shares) };
  }

  private adminImage(region: string, imageId: string): ImageState {
    const s = this.images.get(`${region}/${imageId}`);
    if (!s) throw new AdminNotFoundError(`image ${region}/${imageId}`);
    return s;
  }

  /** One image in seed form. Throws AdminNotFoundError when it does not exist. */
  image(region: string, imageId: string): SeedImage {
    return this.imageState(this.adminImage(region, imageId));
  }

  /** Changes image fields out of band (no rules). Throws AdminNotFoundError/SeedError on unknown images or bad values. */
  patchImage(region: string, imageId: string, patch: unknown): SeedImage {
    const s = this.adminImage(region, imageId);
    s.meta = mergeImage(s.meta, patch);
    this.setShares(s, s.shares);
    return this.imageState(s);
  }

  /**
   * Adds/removes shares out of band, as the console would, bypassing every rule (quota, community, site). IDs must
   * still be digit strings. Throws AdminNotFoundError/SeedError on unknown images or malformed IDs.
   */
  share(region: string, imageId: string, change: { add?: Array<string | SeedShare>; remove?: string[] }): SeedImage {
    const s = this.adminImage(region, imageId);
    const at = isoSeconds(this.now());
    const add = (change.add ?? []).map((a) => (typeof a === 'string' ? { id: a, sharedTime: at } : a));
    const bad = [...add.map((a) => a.id), ...(change.remove ?? [])].filter((id) => !/^\d{1,20}$/.test(String(id)));
    if (bad.length > 0) throw new SeedError([`not account IDs: ${bad.join(', ')}`]);
    const badTimes = add.filter(
      (a) => a.sharedTime !== undefined && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(a.sharedTime),
    );
    if (badTimes.length > 0) throw new SeedError(['sharedTime must look like 2025-01-01T00:00:00Z']);
    const next = new Map(s.shares);
    for (const id of change.remove ?? []) next.delete(id);
    for (const a of add) if (!next.has(a.id)) next.set(a.id, a.sharedTime ?? at);
    this.setShares(s, next);
    return this.imageState(s);
  }

  /**
   * Adds an image out of band, as a pipeline's build finishing would (seed form; `family`, `tags`, `status` and
   * `creationTime` say where it falls in a family). Throws SeedError on bad fields, an unknown owner or region, or an
   * image that exists already.
   */
  addImage(input: unknown): SeedImage {
    const m = parseImage(input);
    const problems: string[] = [];
    if (!this.owners.has(m.owner)) problems.push(`owner ${m.owner} not found in owners`);
    if (!this.regions.has(m.region)) problems.push(`region ${m.region} not found in regions`);
    if (this.images.has(`${m.region}/${m.id}`)) problems.push(`image ${m.region}/${m.id} exists already`);
    const unknown = m.sharedWith.filter((a) => !this.sites.has(a.id)).map((a) => a.id);
    if (unknown.length > 0) problems.push(`not known accounts: ${unknown.join(', ')}`);
    if (problems.length > 0) throw new SeedError(problems);
    const shares = new Map(m.sharedWith.map((a) => [a.id, a.sharedTime] as const));
    const s: ImageState = { meta: { ...m, sharedWith: [] }, shares, history: [] };
    this.images.set(`${m.region}/${m.id}`, s);
    this.setShares(s, shares);
    return this.imageState(s);
  }

  /** Deletes an image out of band (no rules). Throws AdminNotFoundError when it does not exist. */
  removeImage(region: string, imageId: string): void {
    this.adminImage(region, imageId);
    this.images.delete(`${region}/${imageId}`);
  }

  /** Merges options (any subset). Throws SeedError on unknown options or bad values. */
  setOptions(patch: unknown): EmulatorOptions {
    this.opts = mergeOptions(this.opts, patch);
    return { ...this.opts };
  }

  /** Changes owner flags (agreementSigned, shareEncryptedRole, …). Throws AdminNotFoundError/SeedError on unknown owners or bad values. */
  /** Adds a key to an owner (an STS stand-in's new session). Throws AdminNotFoundError/SeedError. */
  addKey(ownerId: string, input: unknown): { accessKeyId: string } {
    const o = this.owners.get(ownerId);
    if (!o) throw new AdminNotFoundError(`owner ${ownerId}`);
    const key = readNewKey(input);
    if (this.findKey(key.accessKeyId) !== undefined) throw new SeedError([`key ${key.accessKeyId} exists already`]);
    o.keys.push(key);
    return { accessKeyId: key.accessKeyId };
  }

  patchOwner(id: string, patch: unknown): SeedOwner {
    const o = this.owners.get(id);
    if (!o) throw new AdminNotFoundError(`owner ${id}`);
    const next = mergeOwner(o, patch);
    this.owners.set(id, next);
    return structuredClone(next);
  }
}
