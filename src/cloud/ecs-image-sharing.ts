// The ImageSharing port on top of the real @alicloud/ecs20140526 client. Every call takes a token from the rate
// budget of its (identity, region), is classified by the ECS error table, and is retried by our own loop (the SDK's
// retries stay off). Writes respect the API's limits: at most 10 accounts per list, IsPublic always alone.
import Ecs from '@alicloud/ecs20140526';
import { Reason } from '../api/reasons.ts';
import { accountsNamedInError, classifyEcsError, lookupEcsError } from './ecs-errors.ts';
import {
  type AccountResult,
  CloudError,
  ErrorKind,
  type ImageRef,
  inBatches,
  type ImageSharing,
  type ObservedImage,
  type SharedAccount,
} from './port.ts';
import { type RetryOptions, withRetry } from './retry.ts';

export type EcsClient = InstanceType<typeof Ecs.default>;

/** DescribeImageSharePermission's largest page. */
export const SHARE_PAGE_SIZE = 100;
/** Far above the 50-accounts quota; stops a misbehaving server from paging us forever. */
const MAX_SHARE_PAGES = 100;

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
  now: () => number;
  onCall?: (e: EcsCallEvent) => void;
}

/** One (account, region, action) rate budget as the adapter uses it: wait, then report how the call went. */
export interface CallBudget {
  take(): Promise<void>;
  /** ECS answered Throttling (with its retry-after in ms, when given). */
  throttled(retryAfterMs?: number): void;
  /** The call succeeded; the response lets the budget learn the owning account. */
  succeeded(response?: unknown): void;
}

type Direction = 'add' | 'remove';

const ACTION = {
  describeImages: 'DescribeImages',
  describeShares: 'DescribeImageSharePermission',
  modify: 'ModifyImageSharePermission',
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
   * CloudError (terminal at once, retryable after the tries are used up).
   */
  async #call<T>(action: string, regionId: string, invoke: (client: EcsClient) => Promise<T>): Promise<T> {
    const { budgetFor, clientFor, now, onCall, retry } = this.#o;
    return withRetry(async () => {
      const budget = budgetFor(regionId, action);
      await budget.take();
      const started = now();
      try {
        const result = await invoke(clientFor(regionId));
        budget.succeeded(result);
        onCall?.({ action, code: 'OK', durationMs: now() - started });
        return result;
      } catch (err: unknown) {
        const classified = classifyEcsError(err);
        if (classified.reason === Reason.Throttled) budget.throttled(classified.retryAfterMs);
        onCall?.({ action, code: classified.code, durationMs: now() - started });
        throw classified;
      }
    }, retry);
  }

  async observe(ref: ImageRef): Promise<ObservedImage> {
    const image = await this.#describeImage(ref, 'self');
    if (image === undefined) throw await this.#missingImageError(ref);
    const shares = await this.#readShares(ref);
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
    };
  }

  async #describeImage(ref: ImageRef, ownerAlias: 'self' | undefined) {
    const request = new Ecs.DescribeImagesRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      // Status defaults to Available, which would hide an image that is still Creating or is Deprecated.
      status: 'ALL',
      ...(ownerAlias === undefined ? {} : { imageOwnerAlias: ownerAlias }),
    });
    const response = await this.#call(ACTION.describeImages, ref.regionId, (c) => c.describeImages(request));
    return response.body?.images?.image?.find((i) => i.imageId === ref.imageId);
  }

  /**
   * The error for an image that is not among our own: ImageNotOwned when it is visible to us but owned by someone
   * else (shared with us, Marketplace or system), else ImageNotFound. Costs one extra call, only on this path.
   */
  async #missingImageError(ref: ImageRef): Promise<CloudError> {
    const visible = await this.#describeImage(ref, undefined);
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
      message: `Image ${ref.imageId} does not exist in ${ref.regionId} for these credentials; check spec.imageId, spec.regionId and the credentials.`,
      accountSpecific: entry?.accountSpecific ?? false,
    });
  }

  /** Every page of the share list: stops on a page without accounts or once TotalCount accounts are collected. */
  async #readShares(ref: ImageRef): Promise<{ accounts: SharedAccount[]; groupAll: boolean }> {
    const seen = new Map<string, SharedAccount>();
    let groupAll = false;
    for (let page = 1; page <= MAX_SHARE_PAGES; page++) {
      const p = await this.#readSharePage(ref, page);
      groupAll ||= p.groupAll;
      for (const a of p.accounts) seen.set(a.id, a);
      if (p.accounts.length === 0 || seen.size >= p.totalCount) break;
    }
    return { accounts: [...seen.values()].sort(byId), groupAll };
  }

  async #readSharePage(
    ref: ImageRef,
    pageNumber: number,
  ): Promise<{ accounts: SharedAccount[]; groupAll: boolean; totalCount: number }> {
    const request = new Ecs.DescribeImageSharePermissionRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      pageNumber,
      pageSize: SHARE_PAGE_SIZE,
    });
    const response = await this.#call(ACTION.describeShares, ref.regionId, (c) =>
      c.describeImageSharePermission(request),
    );
    const body = response.body;
    const accounts: SharedAccount[] = [];
    for (const a of body?.accounts?.account ?? []) {
      if (!a.aliyunId) continue;
      accounts.push(a.sharedTime ? { id: a.aliyunId, sharedTime: a.sharedTime } : { id: a.aliyunId });
    }
    return {
      accounts,
      groupAll: (body?.shareGroups?.shareGroup ?? []).some((g) => g.group === 'all'),
      totalCount: body?.totalCount ?? 0,
    };
  }

  grant(ref: ImageRef, accounts: readonly string[]): Promise<AccountResult[]> {
    return this.#modifyAccounts(ref, 'add', accounts);
  }

  revoke(ref: ImageRef, accounts: readonly string[]): Promise<AccountResult[]> {
    return this.#modifyAccounts(ref, 'remove', accounts);
  }

  async #modifyAccounts(ref: ImageRef, direction: Direction, accounts: readonly string[]): Promise<AccountResult[]> {
    const unique = [...new Set(accounts)];
    const outcome = new Map<string, AccountResult>();
    for (const batch of inBatches(unique)) {
      await this.#applyIsolating(ref, direction, batch, outcome);
    }
    return accounts.map((id) => outcome.get(id) ?? { id, ok: true });
  }

  /**
   * Applies one batch; when ECS blames accounts, finds the culprits with few extra calls: the IDs the error message
   * names (one retry of the rest), else bisection. Non-account failures propagate.
   */
  async #applyIsolating(
    ref: ImageRef,
    direction: Direction,
    batch: readonly string[],
    outcome: Map<string, AccountResult>,
  ): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.#modify(ref, direction, batch);
      for (const id of batch) outcome.set(id, { id, ok: true });
      return;
    } catch (err: unknown) {
      if (!(err instanceof CloudError) || !err.accountSpecific) throw err;
      const [only] = batch;
      if (batch.length === 1 && only !== undefined) {
        outcome.set(only, { id: only, ok: false, error: forAccount(err, only) });
        return;
      }
      const named = accountsNamedInError(err).filter((id) => batch.includes(id));
      if (named.length > 0) {
        for (const id of named) outcome.set(id, { id, ok: false, error: forAccount(err, id) });
        await this.#applyIsolating(ref, direction, batch.filter((id) => !named.includes(id)), outcome);
        return;
      }
      const mid = Math.ceil(batch.length / 2);
      await this.#applyIsolating(ref, direction, batch.slice(0, mid), outcome);
      await this.#applyIsolating(ref, direction, batch.slice(mid), outcome);
    }
  }

  async #modify(ref: ImageRef, direction: Direction, batch: readonly string[]): Promise<void> {
    // Never IsPublic, LaunchPermission or DryRun here: IsPublic with account lists is refused
    // (InvalidParameter.IsPublic) and the other two are not for us.
    const request = new Ecs.ModifyImageSharePermissionRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      ...(direction === 'add' ? { addAccount: [...batch] } : { removeAccount: [...batch] }),
    });
    await this.#call(ACTION.modify, ref.regionId, (c) => c.modifyImageSharePermission(request));
  }

  /**
   * Publishes or unpublishes in a call of its own. Unpublishing an image that is not a community image is answered
   * with Image.NotPublic by current ECS (older ECS answers success): either way the desired state already holds,
   * so that code counts as success and a repeated or racing unpublish is idempotent.
   */
  async setCommunity(ref: ImageRef, community: boolean): Promise<void> {
    const request = new Ecs.ModifyImageSharePermissionRequest({
      regionId: ref.regionId,
      imageId: ref.imageId,
      isPublic: community,
    });
    try {
      await this.#call(ACTION.modify, ref.regionId, (c) => c.modifyImageSharePermission(request));
    } catch (err: unknown) {
      if (!community && err instanceof CloudError && err.code === 'Image.NotPublic') return;
      throw err;
    }
  }
}
