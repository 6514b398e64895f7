// The ImageSharing port on top of the real @alicloud/ecs20140526 client. Every call takes a token from the rate
// budget of its (identity, region), is classified by the ECS error table, and is retried by our own loop (the SDK's
// retries stay off). Writes respect the API's limits: at most 10 accounts per list, IsPublic always alone.
import { Ecs } from './ecs-sdk.ts';
import { Reason } from '../api/reasons.ts';
import { accountsNamedInError, classify, lookupEcsError, withImageStatus } from './ecs-errors.ts';
import {
  type AccountResult,
  abortError,
  CloudError,
  ErrorKind,
  type ImageQuery,
  type ImageRef,
  type ImageSharing,
  type ListedImage,
  inBatches,
  isAbortError,
  lostAnswerOf,
  type ModifyResult,
  type ObservedImage,
  outcomeUnknown,
  type SharedAccount,
} from './port.ts';
import { BudgetWaitTimeout } from './rate-budget.ts';
import { type RequestBounds, withRequestBounds } from './request-bounds.ts';
import { type RetryOptions, withRetry } from './retry.ts';

export type EcsClient = InstanceType<typeof Ecs.default>;

/** DescribeImageSharePermission's largest page. */
export const SHARE_PAGE_SIZE = 100;
/** Far above the 50-accounts quota; stops a misbehaving server from paging us forever. */
const MAX_SHARE_PAGES = 100;
/** An Alibaba Cloud account ID as the CRD accepts it: 1–20 digits, no leading zero. */
const ACCOUNT_ID = /^[1-9][0-9]{0,19}$/;

export interface EcsCallEvent {
  action: string;
  /** `OK` on success, else the classified code (an ECS code or a transport code such as `ECONNRESET`). */
  code: string;
  durationMs: number;
}

export interface EcsImageSharingOptions {
  /** The SDK client for a region (the factory caches them). */
  clientFor: (regionId: string) => EcsClient;
  /** The shared budget of this identity's account for one action in a region. */
  budgetFor: (regionId: string, action: string) => CallBudget;
  retry: Omit<RetryOptions, 'onRetry'>;
  /** The deadline and size cap of each try (request-bounds.ts). */
  bounds: RequestBounds;
  /** The longest wait for a rate budget token before the call gives up (the pass comes back later). Default 60 s. */
  budgetWaitMs?: number;
  now: () => number;
  onCall?: (e: EcsCallEvent) => void;
}

/** One (account, region, action) rate budget as the adapter uses it: wait, then report how the call went. */
export interface CallBudget {
  /** Resolves with a token; rejects when `signal` fires (any reason) or with BudgetWaitTimeout after `timeoutMs`. */
  take(o: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined }): Promise<void>;
  /** ECS answered Throttling (with its retry-after in ms, when given). */
  throttled(retryAfterMs?: number): void;
  /** The call succeeded; the response lets the budget learn the owning account. */
  succeeded(response?: unknown): void;
}

type Direction = 'add' | 'remove';

const DEFAULT_BUDGET_WAIT_MS = 60_000;

/**
 * Waits for a token: an AbortError when `signal` fires, a `wait` CloudError (Throttled, not sent) when the budget has
 * no token within `timeoutMs`, so the pass comes back after the budget's own estimate instead of blocking a worker.
 */
async function takeToken(budget: CallBudget, signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
  try {
    await budget.take({ signal, timeoutMs });
  } catch (err: unknown) {
    if (signal?.aborted) throw abortError();
    if (err instanceof BudgetWaitTimeout) throw classify(err);
    throw err;
  }
}

const ACTION = {
  describeImages: 'DescribeImages',
  describeShares: 'DescribeImageSharePermission',
  modify: 'ModifyImageSharePermission',
  tag: 'TagResources',
  untag: 'UntagResources',
} as const;

/** A copy of `err` whose message names `id`, for the per-account outcome of an isolated culprit. */
function forAccount(err: CloudError, id: string): CloudError {
  const message = lookupEcsError(err.code)?.accountMessage?.([id]) ?? err.message;
  return new CloudError(
    {
      code: err.code,
      kind: err.kind,
      reason: err.reason,
      message,
      accountSpecific: true,
      retryAfterMs: err.retryAfterMs,
      httpStatus: err.httpStatus,
    },
    { cause: err.cause },
  );
}

function byId(a: SharedAccount, b: SharedAccount): number {
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

export class EcsImageSharing implements ImageSharing {
  readonly #o: EcsImageSharingOptions;

  constructor(options: EcsImageSharingOptions) {
    this.#o = options;
  }

  /**
   * One ECS call under the rate budget and the retry loop. Resolves with the SDK response; throws a classified
   * CloudError (terminal at once, retryable after the tries are used up), or an AbortError when `signal` fired before
   * a try started or during a wait. Once a try may have reached ECS with its answer lost, whatever is thrown is
   * marked maybeApplied (retry.ts), so a write is never reported unsent or refused after it.
   */
  async #call<T>(
    action: string,
    regionId: string,
    invoke: (client: EcsClient) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const { retry } = this.#o;
    return withRetry(() => this.#try(action, regionId, invoke, signal), retry, signal);
  }

  async #try<T>(
    action: string,
    regionId: string,
    invoke: (client: EcsClient) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const { budgetFor, clientFor, now, onCall } = this.#o;
    if (signal?.aborted) throw abortError();
    const budget = budgetFor(regionId, action);
    await takeToken(budget, signal, this.#o.budgetWaitMs ?? DEFAULT_BUDGET_WAIT_MS);
    if (signal?.aborted) throw abortError();
    const started = now();
    try {
      const result = await withRequestBounds(this.#o.bounds, () => invoke(clientFor(regionId)));
      budget.succeeded(result);
      onCall?.({ action, code: 'OK', durationMs: now() - started });
      return result;
    } catch (err: unknown) {
      const classified = classify(err);
      if (classified.reason === Reason.Throttled) budget.throttled(classified.retryAfterMs);
      onCall?.({ action, code: classified.code, durationMs: now() - started });
      throw classified;
    }
  }

  async observe(ref: ImageRef, signal?: AbortSignal): Promise<ObservedImage> {
    const image = await this.#describeImage(ref, 'self', signal);
    if (image === undefined) throw await this.#missingImageError(ref, signal);
    const shares = await this.#readShares(ref, signal);
    const mappings = image.diskDeviceMappings?.diskDeviceMapping ?? [];
    return {
      ref: { regionId: ref.regionId, imageId: ref.imageId },
      name: image.imageName ?? '',
      description: image.description ?? '',
      status: image.status ?? '',
      encrypted: mappings.some((m) => m.encrypted === true),
      ownerAlias: image.imageOwnerAlias ?? '',
      // IsPublic on a self image is the community flag. A ShareGroup `all` also means "open to everyone" (the legacy
      // group share), so either signal counts: the operator would rather over-report exposure than miss it.
      community: image.isPublic === true || shares.groupAll,
      sharedAccounts: shares.accounts,
      tags: tagsOf(image.tags?.tag),
    };
  }

  /**
   * The image from DescribeImages, or undefined when ECS says there is none. A 200 whose body lacks the image list
   * or TotalCount (for example an error body served with 200) is malformed, never "no such image".
   */
  async #describeImage(ref: ImageRef, ownerAlias: 'self' | undefined, signal: AbortSignal | undefined) {
    const request = new Ecs.DescribeImagesRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      // Status defaults to Available, which would hide an image that is still Creating or is Deprecated.
      status: 'ALL',
      ...(ownerAlias === undefined ? {} : { imageOwnerAlias: ownerAlias }),
    });
    const response = await this.#call(ACTION.describeImages, ref.regionId, (c) => c.describeImages(request), signal);
    const body = response.body;
    const images = body?.images?.image;
    if (!Array.isArray(images) || typeof body?.totalCount !== 'number')
      throw malformed(ACTION.describeImages, 'the image list or TotalCount is missing');
    const found = images.find((i) => i.imageId === ref.imageId);
    if (found === undefined && body.totalCount !== 0 && images.length === 0)
      throw malformed(ACTION.describeImages, 'TotalCount disagrees with the image list');
    if (
      found !== undefined &&
      (typeof found.status !== 'string' || (ownerAlias === 'self' && typeof found.isPublic !== 'boolean'))
    ) {
      throw malformed(ACTION.describeImages, 'the image has no Status or IsPublic');
    }
    return found;
  }

  /**
   * The error for an image that is not among our own: ImageNotOwned when it is visible to us but owned by someone
   * else (shared with us, Marketplace or system), else ImageNotFound. Costs one extra call, only on this path.
   */
  async #missingImageError(ref: ImageRef, signal: AbortSignal | undefined): Promise<CloudError> {
    const visible = await this.#describeImage(ref, undefined, signal);
    if (visible !== undefined && visible.imageOwnerAlias !== 'self') {
      return new CloudError({
        code: 'ImageNotOwned',
        kind: ErrorKind.Terminal,
        reason: Reason.ImageNotOwned,
        message: `Image ${ref.imageId} is visible but not owned by these credentials (it is a ${visible.imageOwnerAlias ?? 'foreign'} image); only the owner can share it.`,
        accountSpecific: false,
      });
    }
    const entry = lookupEcsError('InvalidImageId.NotFound');
    return new CloudError({
      code: 'InvalidImageId.NotFound',
      kind: ErrorKind.Terminal,
      reason: Reason.ImageNotFound,
      message: `Image ${ref.imageId} does not exist in ${ref.regionId} for these credentials; check the credentials, or recreate the object with the right image and region (spec.imageId and spec.regionId are immutable).`,
      accountSpecific: entry?.accountSpecific ?? false,
    });
  }

  /**
   * Every page of the share list. Each page must carry exactly the accounts TotalCount implies for it, with
   * well-formed IDs, and TotalCount must not move while paging; anything else is malformed (transient).
   */
  async #readShares(
    ref: ImageRef,
    signal: AbortSignal | undefined,
  ): Promise<{ accounts: SharedAccount[]; groupAll: boolean }> {
    const seen = new Map<string, SharedAccount>();
    let groupAll = false;
    let total: number | undefined;
    for (let page = 1; page <= MAX_SHARE_PAGES; page++) {
      const p = await this.#readSharePage(ref, page, signal);
      if (total !== undefined && p.totalCount !== total)
        throw malformed(ACTION.describeShares, 'TotalCount changed between pages');
      total = p.totalCount;
      const expected = Math.max(0, Math.min(SHARE_PAGE_SIZE, total - (page - 1) * SHARE_PAGE_SIZE));
      if (p.accounts.length !== expected)
        throw malformed(
          ACTION.describeShares,
          `page ${page} lists ${p.accounts.length} accounts where TotalCount ${total} implies ${expected}`,
        );
      groupAll ||= p.groupAll;
      for (const a of p.accounts) seen.set(a.id, a);
      if (page * SHARE_PAGE_SIZE >= total) break;
    }
    if (seen.size !== total)
      throw malformed(
        ACTION.describeShares,
        `the pages list ${seen.size} distinct accounts where TotalCount is ${total}`,
      );
    return { accounts: [...seen.values()].sort(byId), groupAll };
  }

  async #readSharePage(
    ref: ImageRef,
    pageNumber: number,
    signal: AbortSignal | undefined,
  ): Promise<{ accounts: SharedAccount[]; groupAll: boolean; totalCount: number }> {
    const request = new Ecs.DescribeImageSharePermissionRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      pageNumber,
      pageSize: SHARE_PAGE_SIZE,
    });
    const response = await this.#call(
      ACTION.describeShares,
      ref.regionId,
      (c) => c.describeImageSharePermission(request),
      signal,
    );
    const body = response.body;
    const totalCount = body?.totalCount;
    if (typeof totalCount !== 'number' || !Number.isInteger(totalCount) || totalCount < 0)
      throw malformed(ACTION.describeShares, 'TotalCount is missing');
    const listed = body?.accounts?.account;
    if (totalCount > 0 && !Array.isArray(listed)) throw malformed(ACTION.describeShares, 'the account list is missing');
    const accounts: SharedAccount[] = [];
    for (const a of listed ?? []) {
      if (typeof a.aliyunId !== 'string' || !ACCOUNT_ID.test(a.aliyunId))
        throw malformed(ACTION.describeShares, 'an account ID is not 1-20 digits');
      accounts.push(a.sharedTime ? { id: a.aliyunId, sharedTime: a.sharedTime } : { id: a.aliyunId });
    }
    return {
      accounts,
      groupAll: (body?.shareGroups?.shareGroup ?? []).some((g) => g.group === 'all'),
      totalCount,
    };
  }

  /**
   * Discovery (docs/adr/0027): every page of the region's matching Available self-owned images. TotalCount must not
   * move between pages and every page must be as full as it implies; otherwise the listing is malformed (transient),
   * because a short listing would make the set delete children of builds that still exist.
   */
  async listOwnImages(regionId: string, query: ImageQuery, signal?: AbortSignal): Promise<ListedImage[]> {
    const seen = new Map<string, ListedImage>();
    let total: number | undefined;
    for (let page = 1; page <= MAX_IMAGE_PAGES; page++) {
      const p = await this.#readImagePage(regionId, query, page, total, signal);
      total = p.totalCount;
      for (const image of p.images) seen.set(image.imageId, image);
      if (page * IMAGE_PAGE_SIZE >= total) break;
    }
    if (seen.size !== total)
      throw malformed(ACTION.describeImages, 'the pages list fewer distinct images than TotalCount');
    return [...seen.values()];
  }

  /** One discovery page, checked: TotalCount as on the earlier pages, and exactly as many images as it implies. */
  async #readImagePage(
    regionId: string,
    query: ImageQuery,
    page: number,
    total: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ images: ListedImage[]; totalCount: number }> {
    const request = discoveryRequest(regionId, query, page);
    const response = await this.#call(ACTION.describeImages, regionId, (c) => c.describeImages(request), signal);
    const images = response.body?.images?.image ?? [];
    const count = response.body?.totalCount;
    if (typeof count !== 'number' || (count > 0 && !Array.isArray(response.body?.images?.image)))
      throw malformed(ACTION.describeImages, 'the image list or TotalCount is missing');
    if (total !== undefined && count !== total)
      throw malformed(ACTION.describeImages, 'TotalCount changed between pages');
    const expected = Math.max(0, Math.min(IMAGE_PAGE_SIZE, count - (page - 1) * IMAGE_PAGE_SIZE));
    if (images.length !== expected)
      throw malformed(
        ACTION.describeImages,
        `page ${page} lists ${images.length} images where TotalCount implies ${expected}`,
      );
    return { images: images.map(listedImage), totalCount: count };
  }

  grant(ref: ImageRef, accounts: readonly string[], signal?: AbortSignal): Promise<ModifyResult> {
    return this.#modifyAccounts(ref, 'add', accounts, signal);
  }

  revoke(ref: ImageRef, accounts: readonly string[], signal?: AbortSignal): Promise<ModifyResult> {
    return this.#modifyAccounts(ref, 'remove', accounts, signal);
  }

  /** Batches of 10, in order; the first failure that is not account-specific stops the rest and is returned. */
  async #modifyAccounts(
    ref: ImageRef,
    direction: Direction,
    accounts: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<ModifyResult> {
    const unique = [...new Set(accounts)];
    const outcome = new Map<string, AccountResult>();
    const inOrder = () => unique.flatMap((id) => outcome.get(id) ?? []);
    try {
      for (const batch of inBatches(unique)) await this.#applyIsolating(ref, direction, batch, outcome, signal);
      return { results: inOrder() };
    } catch (err: unknown) {
      if (isAbortError(err)) return { results: inOrder(), aborted: true };
      return { results: inOrder(), error: classify(err) };
    }
  }

  /**
   * Applies one batch; when ECS blames accounts, finds the culprits with few extra calls: the IDs the error message
   * names (one retry of the rest), else bisection. Every definitive answer lands in `outcome` as soon as it is
   * known, so a later failure cannot erase an earlier acceptance. A failure that is not account-specific is recorded
   * for this batch (refused, or unknown when ECS may have applied it) and rethrown.
   */
  async #applyIsolating(
    ref: ImageRef,
    direction: Direction,
    batch: readonly string[],
    outcome: Map<string, AccountResult>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.#modify(ref, direction, batch, signal);
      for (const id of batch) outcome.set(id, { id, ok: true });
      return;
    } catch (err: unknown) {
      if (isAbortError(err)) {
        // Never sent: no result for this batch; after a lost answer, every account of it is unknown.
        const lost = lostAnswerOf(err);
        if (lost) for (const id of batch) outcome.set(id, { id, ok: 'unknown', error: lost });
        throw err;
      }
      const error = classify(err);
      const unknown = outcomeUnknown(error);
      if (!error.accountSpecific || unknown) {
        for (const id of batch) outcome.set(id, unknown ? { id, ok: 'unknown', error } : { id, ok: false, error });
        throw error;
      }
      const [only] = batch;
      if (batch.length === 1 && only !== undefined) {
        outcome.set(only, { id: only, ok: false, error: forAccount(error, only) });
        return;
      }
      const named = accountsNamedInError(error).filter((id) => batch.includes(id));
      if (named.length > 0) {
        for (const id of named) outcome.set(id, { id, ok: false, error: forAccount(error, id) });
        await this.#applyIsolating(
          ref,
          direction,
          batch.filter((id) => !named.includes(id)),
          outcome,
          signal,
        );
        return;
      }
      const mid = Math.ceil(batch.length / 2);
      await this.#applyIsolating(ref, direction, batch.slice(0, mid), outcome, signal);
      await this.#applyIsolating(ref, direction, batch.slice(mid), outcome, signal);
    }
  }

  async #modify(
    ref: ImageRef,
    direction: Direction,
    batch: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    // Never IsPublic, LaunchPermission or DryRun here: IsPublic with account lists is refused
    // (InvalidParameter.IsPublic) and the other two are not for us.
    const request = new Ecs.ModifyImageSharePermissionRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      ...(direction === 'add' ? { addAccount: [...batch] } : { removeAccount: [...batch] }),
    });
    await this.#write(ref, request, signal);
  }

  /** One ModifyImageSharePermission; an IncorrectImageStatus is explained by the image's status (withImageStatus). */
  async #write(
    ref: ImageRef,
    request: InstanceType<typeof Ecs.ModifyImageSharePermissionRequest>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      await this.#call(ACTION.modify, ref.regionId, (c) => c.modifyImageSharePermission(request), signal);
    } catch (err: unknown) {
      if (!(err instanceof CloudError) || err.code !== 'IncorrectImageStatus') throw err;
      // One extra read, only on this path: a status that can never become Available stalls instead of retrying.
      const image = await this.#describeImage(ref, 'self', signal).catch(() => undefined);
      throw image?.status === undefined ? err : withImageStatus(err, image.status);
    }
  }

  /**
   * Publishes or unpublishes in a call of its own. Unpublishing an image that is not a community image is answered
   * with Image.NotPublic by current ECS (older ECS answers success): either way the desired state already holds,
   * so that code counts as success and a repeated or racing unpublish is idempotent.
   */
  async setCommunity(ref: ImageRef, community: boolean, signal?: AbortSignal): Promise<void> {
    const request = new Ecs.ModifyImageSharePermissionRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      isPublic: community,
    });
    try {
      await this.#write(ref, request, signal);
    } catch (err: unknown) {
      if (!community && err instanceof CloudError && err.code === 'Image.NotPublic') return;
      throw err;
    }
  }

  async tagImage(ref: ImageRef, tags: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const request = new Ecs.TagResourcesRequest({
      regionId: ref.regionId,
      resourceType: 'image',
      resourceId: [ref.imageId],
      tag: Object.entries(tags).map(([key, value]) => new Ecs.TagResourcesRequestTag({ key, value })),
    });
    await this.#call(ACTION.tag, ref.regionId, (c) => c.tagResources(request), signal);
  }

  async untagImage(ref: ImageRef, keys: readonly string[], signal?: AbortSignal): Promise<void> {
    const request = new Ecs.UntagResourcesRequest({
      regionId: ref.regionId,
      resourceType: 'image',
      resourceId: [ref.imageId],
      tagKey: [...keys],
    });
    await this.#call(ACTION.untag, ref.regionId, (c) => c.untagResources(request), signal);
  }
}

/** The image's tags as a map; a tag without a string key or value is malformed (never silently dropped). */
/** DescribeImages' largest page, and a bound on the pages one discovery reads (10,000 images). */
const IMAGE_PAGE_SIZE = 100;
const MAX_IMAGE_PAGES = 100;

/** The DescribeImages request of one discovery page: self-owned, Available, with the selector's server filters. */
function discoveryRequest(regionId: string, query: ImageQuery, pageNumber: number) {
  return new Ecs.DescribeImagesRequest({
    regionId,
    imageOwnerAlias: 'self',
    status: 'Available',
    pageNumber,
    pageSize: IMAGE_PAGE_SIZE,
    ...(query.imageFamily ? { imageFamily: query.imageFamily } : {}),
    ...(query.namePrefix ? { imageName: query.namePrefix } : {}),
    ...(query.tags && Object.keys(query.tags).length > 0
      ? {
          tag: Object.entries(query.tags).map(([key, value]) =>
            value === '' ? new Ecs.DescribeImagesRequestTag({ key }) : new Ecs.DescribeImagesRequestTag({ key, value }),
          ),
        }
      : {}),
  });
}

type SdkImage = NonNullable<
  NonNullable<NonNullable<Awaited<ReturnType<EcsClient['describeImages']>>['body']>['images']>['image']
>[number];

function listedImage(image: SdkImage): ListedImage {
  if (typeof image.imageId !== 'string' || typeof image.creationTime !== 'string' || typeof image.status !== 'string')
    throw malformed(ACTION.describeImages, 'an image has no ImageId, CreationTime or Status');
  return {
    imageId: image.imageId,
    name: image.imageName ?? '',
    creationTime: image.creationTime,
    status: image.status,
    family: image.imageFamily ?? '',
    tags: tagsOf(image.tags?.tag),
    ownerAlias: image.imageOwnerAlias ?? '',
  };
}

function tagsOf(list: ReadonlyArray<{ tagKey?: string; tagValue?: string }> | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of list ?? []) {
    if (typeof t.tagKey !== 'string' || t.tagKey === '' || typeof (t.tagValue ?? '') !== 'string')
      throw malformed(ACTION.describeImages, 'a tag has no key or a value that is not a string');
    tags[t.tagKey] = t.tagValue ?? '';
  }
  return tags;
}

/** A 200 answer that cannot be believed: transient, so the pass backs off and reads again. */
function malformed(action: string, what: string): CloudError {
  return new CloudError({
    code: 'MalformedResponse',
    kind: ErrorKind.Transient,
    reason: Reason.CloudAPIError,
    message: `ECS answered ${action} with a malformed response (${what}); the operator does not act on it and retries with backoff.`,
    accountSpecific: false,
  });
}
