// The cloud port: everything the reconciler needs from ECS, and nothing else. Only src/cloud/ may import the
// Alibaba SDK; the domain depends on these types, so it can be tested with a fake (test/unit/fake-cloud.ts).
import type { Reason } from '../api/reasons.ts';

/** ModifyImageSharePermission takes at most 10 accounts per list (more are silently dropped by ECS). */
export const MAX_ACCOUNTS_PER_CALL = 10;
/** An image can be shared with at most 50 accounts (QuotaExceed.ShareImageUser past it). */
export const MAX_ACCOUNTS_PER_IMAGE = 50;

/** `items` cut into consecutive batches of at most `size` (the API's per-call limit). */
export function inBatches<T>(items: readonly T[], size = MAX_ACCOUNTS_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface ImageRef {
  regionId: string;
  imageId: string;
}

export interface SharedAccount {
  id: string;
  /** UTC ISO-8601, as DescribeImageSharePermission reports it. */
  sharedTime?: string;
}

export interface ObservedImage {
  ref: ImageRef;
  name: string;
  description: string;
  /** Available, Creating, Waiting, UnAvailable, CreateFailed, Deprecated. */
  status: string;
  encrypted: boolean;
  /** 'self' for images the credentials' account owns. */
  ownerAlias: string;
  /** true while the image is published as a community image. */
  community: boolean;
  /** Every page of the share list, sorted by id. */
  sharedAccounts: SharedAccount[];
}

export const ErrorKind = { Terminal: 'terminal', Transient: 'transient', Wait: 'wait' } as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

/** One classified cloud error: what kind of retry it deserves and what the user should read. */
export interface ErrorClass {
  kind: ErrorKind;
  reason: Reason;
  /** One plain sentence a user can act on. Never contains secrets or access key IDs. */
  message: string;
  /** The failure is caused by specific account IDs in the request (drives partial-failure isolation). */
  accountSpecific: boolean;
}

/** Thrown by every port method. `cause` keeps the SDK error for logs (already scrubbed of secrets). */
export class CloudError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly reason: Reason;
  readonly accountSpecific: boolean;
  readonly retryAfterMs: number | undefined;
  readonly httpStatus: number | undefined;

  constructor(
    c: ErrorClass & { code: string; retryAfterMs?: number | undefined; httpStatus?: number | undefined },
    options?: { cause?: unknown },
  ) {
    super(c.message, options);
    this.name = 'CloudError';
    this.code = c.code;
    this.kind = c.kind;
    this.reason = c.reason;
    this.accountSpecific = c.accountSpecific;
    this.retryAfterMs = c.retryAfterMs;
    this.httpStatus = c.httpStatus;
  }
}

export type AccountResult = { id: string; ok: true } | { id: string; ok: false; error: CloudError };

export interface ImageSharing {
  /**
   * Image metadata plus every page of the share list (PageSize 100). Throws CloudError with reason
   * ImageNotFound when the image does not exist for these credentials.
   */
  observe(ref: ImageRef): Promise<ObservedImage>;
  /**
   * Shares with `accounts`, in calls of at most 10. When a call fails for account-specific reasons the culprits
   * are isolated and the rest still shared. Throws CloudError for failures that are not account-specific.
   */
  grant(ref: ImageRef, accounts: readonly string[]): Promise<AccountResult[]>;
  /** Unshares, with the same batching and isolation as grant. */
  revoke(ref: ImageRef, accounts: readonly string[]): Promise<AccountResult[]>;
  /** Publishes (true) or unpublishes (false) the image, always in a call of its own. */
  setCommunity(ref: ImageRef, community: boolean): Promise<void>;
}

/** Where a reconcile's cloud identity comes from. Secrets are resolved by the kube side before this point. */
export type CloudCredentials =
  | { type: 'default' }
  | { type: 'static'; accessKeyId: string; accessKeySecret: string; securityToken?: string }
  | { type: 'roleArn'; roleArn: string };

/** Builds (and caches) a port per identity; the rate budget is shared per (identity, region). */
export interface ImageSharingFactory {
  forCredentials(credentials: CloudCredentials): ImageSharing;
}
