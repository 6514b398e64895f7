// The cloud port: everything the reconciler needs from ECS, and nothing else. Only src/cloud/ may import the
// Alibaba SDK; the domain depends on these types, so it can be tested with a fake (test/support/fake-cloud.ts).
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
  /** The image's tags (DescribeImages returns them with the image): where an ownership claim is recorded. */
  tags: Record<string, string>;
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
  /**
   * An earlier try of the same call may have reached ECS and its answer was lost: whatever this error says, the
   * write's outcome is unknown (outcomeUnknown is true).
   */
  readonly maybeApplied: boolean;

  constructor(
    c: ErrorClass & {
      code: string;
      retryAfterMs?: number | undefined;
      httpStatus?: number | undefined;
      maybeApplied?: boolean;
    },
    options?: { cause?: unknown },
  ) {
    super(c.message, options);
    this.maybeApplied = c.maybeApplied ?? false;
    this.name = 'CloudError';
    this.code = c.code;
    this.kind = c.kind;
    this.reason = c.reason;
    this.accountSpecific = c.accountSpecific;
    this.retryAfterMs = c.retryAfterMs;
    this.httpStatus = c.httpStatus;
  }
}

/**
 * Cancellation (the pass's signal fired: lost leadership, shutdown, a newer spec, the pass deadline) is the standard
 * AbortError. When an earlier try of the same call may have reached ECS, `cause` is that try's CloudError (marked
 * maybeApplied): the write is then unknown, not unsent.
 */
export function abortError(lost?: CloudError): DOMException {
  const message = 'The reconcile pass was cancelled before this cloud call started.';
  return new DOMException(message, lost === undefined ? { name: 'AbortError' } : { name: 'AbortError', cause: lost });
}

/** True for the standard AbortError (a DOMException of that name), whoever raised it. */
export function isAbortError(err: unknown): err is DOMException {
  return err instanceof DOMException && err.name === 'AbortError';
}

/** The lost answer an abort came after (abortError's cause), when there was one: the write's outcome is unknown. */
export function lostAnswerOf(err: unknown): CloudError | undefined {
  return isAbortError(err) && err.cause instanceof CloudError ? err.cause : undefined;
}

/** `err` marked maybeApplied; `err` itself when already marked. */
export function markMaybeApplied(err: CloudError): CloudError {
  if (err.maybeApplied) return err;
  return new CloudError(
    {
      code: err.code,
      kind: err.kind,
      reason: err.reason,
      message: err.message,
      accountSpecific: err.accountSpecific,
      retryAfterMs: err.retryAfterMs,
      httpStatus: err.httpStatus,
      maybeApplied: true,
    },
    { cause: err.cause },
  );
}

/**
 * Per account, what one grant or revoke found out: ECS accepted it, ECS refused it (a definitive answer: nothing
 * changed for that account), or the answer was lost (a timeout, a reset, a 5xx: ECS may or may not have applied it).
 */

export type AccountResult =
  | { id: string; ok: true }
  | { id: string; ok: false; error: CloudError }
  | { id: string; ok: 'unknown'; error: CloudError };

/**
 * The result of a grant or revoke: one entry per account that was sent, including the ones ECS accepted before a
 * later part of the same request (a later batch, or a later half of a bisection) failed. Accounts never sent have
 * no entry. `error` is the failure that stopped the rest, beside the results, never instead of them.
 */
export interface ModifyResult {
  results: AccountResult[];
  error?: CloudError;
  /** The signal fired before the rest were sent (a batch whose answer was lost is in `results` as unknown). */
  aborted?: boolean;
}

/** Errors raised before a request left this process (credentials could not be obtained, the rate budget timed out). */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'CredentialsUnavailable',
  'StsUnavailable',
  'InvalidCredentials',
  'RateBudgetTimeout',
]);

/** Codes whose 4xx answer still means ECS received the request (a replayed nonce): the outcome is unknown. */
const RECEIVED_CODES: ReadonlySet<string> = new Set(['SignatureNonceUsed']);

/**
 * True when a failed write may still have been applied: an earlier try may have been (maybeApplied), no ECS error
 * code came back (transport failure, a deadline), the server failed (5xx), a 2xx carried an error, or ECS says it
 * already saw the request (SignatureNonceUsed). A 4xx answer or throttling means ECS refused the call and changed
 * nothing; so does a cancellation before the first try and a failure before sending (no credentials).
 */
export function outcomeUnknown(err: CloudError): boolean {
  if (err.maybeApplied) return true;
  if (NOT_SENT_CODES.has(err.code)) return false;
  if (RECEIVED_CODES.has(err.code)) return true;
  if (err.reason === 'Throttled') return false;
  return err.httpStatus === undefined || err.httpStatus >= 500 || err.httpStatus < 400;
}

/** Which self-owned images discovery asks ECS for (an ImageShareSet's selector; docs/adr/0027). */
export interface ImageQuery {
  imageFamily?: string;
  /** key → value; an empty value asks for the key with any value. */
  tags?: Record<string, string>;
  namePrefix?: string;
}

/** One image as DescribeImages lists it for discovery. */
export interface ListedImage {
  imageId: string;
  name: string;
  /** ECS CreationTime, ISO-8601. */
  creationTime: string;
  status: string;
  family: string;
  tags: Record<string, string>;
  ownerAlias: string;
}

export interface ImageSharing {
  /**
   * Image metadata plus every page of the share list (PageSize 100). Every answer is validated before it is
   * believed. Throws CloudError: reason ImageNotFound when the image does not exist for these credentials,
   * CloudAPIError (transient) when ECS answered something malformed. Throws an AbortError when `signal` fired.
   */
  observe(ref: ImageRef, signal?: AbortSignal): Promise<ObservedImage>;
  /**
   * Shares with `accounts`, in calls of at most 10. When a call fails for account-specific reasons the culprits
   * are isolated and the rest still shared. Never throws for cloud errors: see ModifyResult. No call starts after
   * `signal` fired (the rest come back unsent, with `aborted`).
   */
  grant(ref: ImageRef, accounts: readonly string[], signal?: AbortSignal): Promise<ModifyResult>;
  /** Unshares, with the same batching, isolation and partial results as grant. */
  revoke(ref: ImageRef, accounts: readonly string[], signal?: AbortSignal): Promise<ModifyResult>;
  /** Publishes (true) or unpublishes (false) the image, always in a call of its own. Throws CloudError or AbortError. */
  setCommunity(ref: ImageRef, community: boolean, signal?: AbortSignal): Promise<void>;
  /** Sets tags on the image (TagResources; an existing key gets the new value). Throws CloudError or AbortError. */
  tagImage(ref: ImageRef, tags: Record<string, string>, signal?: AbortSignal): Promise<void>;
  /** Removes tag keys from the image (UntagResources). Throws CloudError or AbortError. */
  untagImage(ref: ImageRef, keys: readonly string[], signal?: AbortSignal): Promise<void>;
  /**
   * Every page (100 a page) of the Available images these credentials own in `regionId` that ECS's filters match
   * (ImageFamily, Tag.N, ImageName). The caller re-checks the selector on what comes back. Throws CloudError
   * (malformed pages are transient) or AbortError. Optional so that the single-image fakes need not implement it.
   */
  listOwnImages?(regionId: string, query: ImageQuery, signal?: AbortSignal): Promise<ListedImage[]>;
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
