// The one table from ECS error code to (kind, reason, message), plus `classify`, which turns anything the
// SDK or the network throws into a CloudError. Codes are matched exactly, typos included: ECS really answers
// `InvalidAccount.Forbbiden` and `OperationDeined.*`, and a "corrected" spelling would silently miss them.
// Sources: /work/shared/seed/ModifyImageSharePermission.txt (the error table), reference ecs-api.md §1.6 and §3.2.
import { Reason } from '../api/reasons.ts';
import { CloudError, type ErrorClass, ErrorKind } from './port.ts';
import type { BudgetWaitTimeout } from './rate-budget.ts';

/** One row of the table. `accountMessage` names the culprit accounts when ECS told us who they are. */
export interface EcsErrorEntry extends ErrorClass {
  /** The HTTP status ECS documents for the code (informational: classification never depends on it). */
  httpStatus: number;
  accountMessage?: (accounts: readonly string[]) => string;
}

const T = ErrorKind.Terminal;
const R = ErrorKind.Transient;
const W = ErrorKind.Wait;

type Row = [httpStatus: number, kind: ErrorKind, reason: Reason, message: string];

const invalidRequest = (what: string, httpStatus = 400): Row => [
  httpStatus,
  T,
  Reason.InvalidRequest,
  `ECS rejected a request the operator should never send (${what}); this is a bug, please report it.`,
];
const throttled: Row = [
  400,
  W,
  Reason.Throttled,
  'ECS is throttling API calls for this account and region; the operator waits and retries.',
];
const accessDenied: Row = [
  403,
  T,
  Reason.AccessDenied,
  'The credentials are not allowed to call this ECS action; grant ecs:DescribeImages, ecs:DescribeImageSharePermission, ecs:ModifyImageSharePermission, ecs:TagResources and ecs:UntagResources to the RAM user or role.',
];
const clockSkew: Row = [
  400,
  T,
  Reason.ClockSkew,
  "ECS rejected the request's timestamp as too far from its own clock; synchronise the clock of the node running the operator (NTP).",
];
const inactiveKey: Row = [
  400,
  T,
  Reason.InvalidCredentials,
  'The access key is disabled; enable it or put an active key in the credentials Secret.',
];

const IMAGE_NOT_FOUND =
  'The image does not exist in this region for these credentials; check the credentials, or recreate the object with the right image and region (spec.imageId and spec.regionId are immutable).';

const rows = {
  // ModifyImageSharePermission (the seed table), in the seed's order.
  MissingParameter: invalidRequest('a mandatory parameter such as RegionId or ImageId is missing'),
  'InvalidGroup.Malformed': invalidRequest('a malformed share group'),
  'UnnecessaryParameter.LaunchPermission': invalidRequest('LaunchPermission together with account lists'),
  'InvalidParameter.LaunchPermission': invalidRequest('an invalid LaunchPermission'),
  'ForbiddenParameter.LaunchPermission': invalidRequest('LaunchPermission, which this account may not use'),
  AssumeRoleError: [
    403,
    T,
    Reason.EncryptedShareRoleMissing,
    'Sharing an encrypted image needs the RAM role AliyunECSShareEncryptImageDefaultRole in the owner account; create and authorise that role.',
  ],
  'ImageDescription.ContainsSensitiveWords': [
    403,
    T,
    Reason.ContainsSensitiveWords,
    'ECS refuses to publish the image because its description contains sensitive words; change the description.',
  ],
  'ImageName.ContainsSensitiveWords': [
    403,
    T,
    Reason.ContainsSensitiveWords,
    'ECS refuses to publish the image because its name contains sensitive words; rename the image.',
  ],
  'Image.Public': [
    403,
    T,
    Reason.ImageIsCommunity,
    'The image is a community image and cannot be shared with accounts; unpublish it (community: false) first.',
  ],
  'CurrentRegion.NotSupportPublicImage': [
    403,
    T,
    Reason.CommunityNotSupportedInRegion,
    'This region does not support community images; remove community: true (spec.regionId is immutable: publishing in another region takes a new object).',
  ],
  'Image.NotPublic': [
    403,
    T,
    Reason.ImageNotCommunity,
    'The image is not a community image, so there is nothing to unpublish.',
  ],
  'OperationDeined.FullImage': [
    403,
    T,
    Reason.EncryptedImageMultipleSnapshots,
    'ECS cannot share an encrypted image that has several snapshots; make an image with a single encrypted snapshot and share it with a new object (spec.imageId is immutable).',
  ],
  'QuotaExceed.ShareImage': [
    403,
    T,
    Reason.ShareImageQuotaExceeded,
    'The account has reached its limit of shared images; unshare other images or ask Alibaba Cloud to raise the quota.',
  ],
  'QuotaExceed.ShareImageUser': [
    403,
    T,
    Reason.AccountQuotaExceeded,
    'The image would be shared with more than 50 accounts; reduce spec.accounts or unshare accounts added outside this object.',
  ],
  'InvalidImageId.BidMismatch': [
    403,
    T,
    Reason.AccountOtherSite,
    'The image cannot be shared with an account on another Alibaba Cloud site (China, International, Japan); remove that account.',
  ],
  'OperationDeined.EncryptedSnapshot': [
    403,
    T,
    Reason.EncryptedSnapshotUnsupported,
    'ECS cannot share this image because it contains encrypted snapshots of an unsupported kind; re-create it with a customer master key (CMK).',
  ],
  'OperationDenied.InvalidImageStatus': [
    403,
    T,
    Reason.ImageDeprecated,
    'The image is deprecated and cannot be shared; restore it in ECS, or share another image with a new object (spec.imageId is immutable).',
  ],
  'PublicImageAgreement.NotSigned': [
    403,
    T,
    Reason.CommunityAgreementNotSigned,
    'The account has not signed the Community Image Terms of Service; sign them in the ECS console before publishing.',
  ],
  'InvalidParameter.IsPublic': invalidRequest('IsPublic together with account lists', 403),
  'InvalidParameter.KMSKeyId.CMKUnauthorized': [
    403,
    T,
    Reason.KMSKeyUnauthorized,
    "The KMS key that encrypts the image does not authorise ECS; fix the key's authorisation in KMS.",
  ],
  'InvalidParameter.KMSKeyId.CMKNotEnabled': [
    403,
    T,
    Reason.KMSKeyNotEnabled,
    'The KMS key that encrypts the image is not enabled; enable it in KMS.',
  ],
  'InvalidOperation.ServiceKeyEncryptedImageUnsupported': [
    403,
    T,
    Reason.ServiceKeyEncryptedImage,
    'Images encrypted with the ECS service key cannot be shared; copy the image with a customer master key (CMK) and share the copy with a new object (spec.imageId is immutable).',
  ],
  'InvalidImageId.NotFound': [404, T, Reason.ImageNotFound, IMAGE_NOT_FOUND],
  'InvalidAccount.NotFound': [
    404,
    T,
    Reason.AccountNotFound,
    'An account in the request does not exist; check the account IDs in spec.accounts.',
  ],
  'InvalidAccount.Forbbiden': [
    404,
    T,
    Reason.AccountIsOwner,
    'An image cannot be shared with the account that owns it; remove the owner account from spec.accounts.',
  ],
  'InvalidKMSKeyId.NotFound': [
    404,
    T,
    Reason.KMSKeyNotFound,
    'The KMS key that encrypts the image no longer exists; the image cannot be shared.',
  ],

  // Older rows of the ModifyImageSharePermission table (reference §1.6).
  // Transient while the image is Creating or Waiting; terminal once its status can never become Available
  // (IMAGE_STATUS_RULES below, applied with withImageStatus when the status is known).
  IncorrectImageStatus: [
    400,
    R,
    Reason.ImageNotAvailable,
    'The image is not available yet (for example still being created); the operator retries until it is.',
  ],
  'InvalidRegionId.NotFound': [
    404,
    T,
    Reason.RegionNotFound,
    'The region does not exist or is not open to this account; recreate the object with a region the account can use (spec.regionId is immutable).',
  ],
  // Answer to DryRun=true; the operator never sends DryRun, so seeing it means a bug.
  DryRunOperation: invalidRequest('DryRun'),
  // DescribeImages rejects these (reference §2.2), including ECS's own typo `InvalidParamter`.
  InvalidParamter: invalidRequest('an invalid parameter'),
  'InvalidImageOwnerAlias.ValueNotSupported': invalidRequest('an unsupported ImageOwnerAlias'),
  'InvalidImageOwnerAlias.PublicImageUnsupported': invalidRequest('IsPublic with an owner alias other than others'),

  // Common OpenAPI codes (reference §3.2).
  Throttling: throttled,
  'Throttling.User': throttled,
  'Throttling.Api': throttled,
  ServiceUnavailable: [
    503,
    R,
    Reason.CloudUnavailable,
    'ECS is temporarily unavailable; the operator retries with backoff.',
  ],
  InternalError: [500, R, Reason.CloudUnavailable, 'ECS had an internal error; the operator retries with backoff.'],
  'InvalidAccessKeyId.NotFound': [
    404,
    T,
    Reason.InvalidCredentials,
    'The access key ID is unknown to Alibaba Cloud (or its STS token expired); put a valid key in the credentials Secret.',
  ],
  'InvalidAccessKeyId.Inactive': inactiveKey,
  'Forbidden.AccessKeyDisabled': [403, ...inactiveKey.slice(1)] as Row,
  SignatureDoesNotMatch: [
    400,
    T,
    Reason.SignatureMismatch,
    'ECS rejected the request signature; check that the access key secret in the credentials Secret matches the key ID.',
  ],
  IncompleteSignature: [
    400,
    T,
    Reason.SignatureMismatch,
    'ECS rejected the request signature as incomplete; check the access key secret in the credentials Secret.',
  ],
  'InvalidTimeStamp.Expired': clockSkew,
  IllegalTimestamp: clockSkew,
  'InvalidTimeStamp.Format': invalidRequest('a malformed timestamp'),
  // ECS already received a request with this nonce: the first one may have been applied (port.ts outcomeUnknown).
  SignatureNonceUsed: [
    400,
    R,
    Reason.SignatureMismatch,
    'ECS had already received this request (SignatureNonceUsed), so whether it was applied is unknown; the operator reads the image again and retries with a fresh nonce.',
  ],
  'InvalidSecurityToken.Expired': [
    403,
    T,
    Reason.CredentialsExpired,
    'The STS security token has expired; put a fresh token in the credentials Secret or use long-lived or role credentials.',
  ],
  'Forbidden.RAM': accessDenied,
  Forbidden: accessDenied,
  NoPermission: [400, ...accessDenied.slice(1)] as Row,
  'Forbidden.RiskControl': [
    403,
    T,
    Reason.RiskControl,
    'Alibaba Cloud risk control blocked the request; check the account in the console or contact Alibaba Cloud support.',
  ],
  InvalidParameter: invalidRequest('an invalid parameter'),
  'InvalidAction.NotFound': invalidRequest('an unknown API action', 404),
  InvalidVersion: invalidRequest('an unknown API version'),

  // TagResources / UntagResources: the image's ownership tag (ADR 0008). Documented codes of those actions.
  'InvalidTagKey.Malformed': invalidRequest('a malformed tag key'),
  'InvalidTagValue.Malformed': invalidRequest('a malformed tag value'),
  'InvalidResourceType.NotFound': invalidRequest('an unknown resource type', 404),
  'InvalidResourceId.NotFound': [404, T, Reason.ImageNotFound, IMAGE_NOT_FOUND],
  'OperationDenied.QuotaExceed': [
    403,
    T,
    Reason.TagQuotaExceeded,
    'The image already carries as many tags as ECS allows (20); remove one so the operator can record its ownership tag.',
  ],

  // Raised locally by openapi-core when no credential is configured at all.
  InvalidCredentials: [
    400,
    T,
    Reason.InvalidCredentials,
    'No usable credentials were found for the ECS client; configure spec.credentials or the operator identity.',
  ],
} as const satisfies Record<string, Row>;

/** Codes whose failure is caused by specific accounts in the request (drives partial-failure isolation). */
const ACCOUNT_SPECIFIC: Record<string, (accounts: readonly string[]) => string> = {
  'InvalidAccount.NotFound': (a) => `Account ${a.join(', ')} does not exist; remove or correct it in spec.accounts.`,
  'InvalidAccount.Forbbiden': (a) =>
    `Account ${a.join(', ')} owns the image and cannot receive a share of it; remove it from spec.accounts.`,
  'InvalidImageId.BidMismatch': (a) =>
    `Account ${a.join(', ')} is on another Alibaba Cloud site and cannot receive this image; remove it from spec.accounts.`,
};

/**
 * Codes whose kind depends on the image's observed status: IncorrectImageStatus waits out Creating and Waiting, but
 * an image that failed or became unavailable will never be shareable, so the object stalls instead of retrying.
 */
export const IMAGE_STATUS_RULES: Readonly<
  Record<string, { terminalWhen: readonly string[]; message: (status: string) => string }>
> = {
  IncorrectImageStatus: {
    terminalWhen: ['CreateFailed', 'UnAvailable'],
    message: (status) =>
      `The image's status is ${status}, from which it never becomes Available, so it cannot be shared or published; fix or rebuild the image in ECS, and share the new image with a new object (spec.imageId is immutable).`,
  },
};

/** `err` reclassified with the image's observed status (IMAGE_STATUS_RULES); `err` itself when no rule applies. */
export function withImageStatus(err: CloudError, imageStatus: string): CloudError {
  const rule = IMAGE_STATUS_RULES[err.code];
  if (rule === undefined || !rule.terminalWhen.includes(imageStatus)) return err;
  return new CloudError(
    {
      code: err.code,
      kind: T,
      reason: err.reason,
      message: rule.message(imageStatus),
      accountSpecific: err.accountSpecific,
      retryAfterMs: undefined,
      httpStatus: err.httpStatus,
      maybeApplied: err.maybeApplied,
    },
    { cause: err.cause },
  );
}

/** Prefix rules, checked after an exact miss: every InvalidSecurityToken.* code means the STS token is unusable. */
const PREFIX_RULES: readonly { prefix: string; entry: EcsErrorEntry }[] = [
  {
    prefix: 'InvalidSecurityToken.',
    entry: {
      httpStatus: 403,
      kind: T,
      reason: Reason.CredentialsExpired,
      message:
        'The STS security token was rejected (expired, malformed or not matching the key); put a fresh, matching token in the credentials Secret.',
      accountSpecific: false,
    },
  },
];

function toEntry(code: string, row: Row): EcsErrorEntry {
  const accountMessage = ACCOUNT_SPECIFIC[code];
  const [httpStatus, kind, reason, message] = row;
  const entry: EcsErrorEntry = { httpStatus, kind, reason, message, accountSpecific: accountMessage !== undefined };
  if (accountMessage) entry.accountMessage = accountMessage;
  return entry;
}

/** The classification table as data: ECS code (exact spelling) → entry. Frozen. */
export const ECS_ERROR_TABLE: Readonly<Record<string, Readonly<EcsErrorEntry>>> = Object.freeze(
  Object.fromEntries(Object.entries(rows).map(([code, row]) => [code, Object.freeze(toEntry(code, row))])),
);

/** Every code the table matches exactly, for tests and docs to walk. */
export const ECS_ERROR_CODES: readonly string[] = Object.freeze(Object.keys(ECS_ERROR_TABLE));

/** Prefixes matched when no exact code matches (e.g. `InvalidSecurityToken.`). */
export const ECS_ERROR_PREFIXES: readonly string[] = Object.freeze(PREFIX_RULES.map((r) => r.prefix));

/** The entry for an ECS code: exact match first, then the prefix rules; undefined for unknown codes. */
export function lookupEcsError(code: string): Readonly<EcsErrorEntry> | undefined {
  if (Object.hasOwn(ECS_ERROR_TABLE, code)) return ECS_ERROR_TABLE[code];
  return PREFIX_RULES.find((r) => code.startsWith(r.prefix))?.entry;
}

// ---------------------------------------------------------------------------------------------------------------
// Classification of thrown values.

const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

interface Probe {
  name: string;
  code: string | undefined;
  statusCode: number | undefined;
  retryAfter: number | undefined;
  bodyMessage: string | undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v !== 'undefined' ? v : undefined;
}

function probe(err: unknown): Probe {
  const o = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const data = (typeof o.data === 'object' && o.data !== null ? o.data : {}) as Record<string, unknown>;
  const status = typeof o.statusCode === 'number' ? o.statusCode : undefined;
  const retryAfter = typeof o.retryAfter === 'number' && Number.isFinite(o.retryAfter) ? o.retryAfter : undefined;
  return {
    name: str(o.name) ?? (err instanceof Error ? err.name : ''),
    code: str(o.code),
    statusCode: status,
    retryAfter: retryAfter !== undefined && retryAfter >= 0 ? retryAfter : undefined,
    bodyMessage: str(data.Message) ?? str(data.message),
  };
}

/** Codes come from the server; keep only a bounded, printable token so messages and metrics stay clean. */
function safeCode(code: string): string {
  const cleaned = code.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 80);
  return cleaned === '' ? 'Unknown' : cleaned;
}

/**
 * Account IDs (runs of digits) named in an ECS error body's Message, e.g. "The specified account 123 in parameter
 * AddAccount.n does not exist." Only the body's Message is read, never the SDK's message (which carries the
 * request id and URL). Callers intersect the result with the accounts they sent.
 */
export function accountsNamedInError(err: unknown): string[] {
  const cause = err instanceof CloudError ? err.cause : err;
  const text = probe(cause).bodyMessage ?? '';
  return [...new Set(text.match(/\d+/g) ?? [])];
}

/** Access key IDs and STS key IDs, redacted from anything kept for logs. */
const KEY_ID_PATTERN = /\b(LTAI|STS\.)[A-Za-z0-9._-]*/g;

/**
 * The `cause` kept on a CloudError: the SDK error's name, code, status, request id and the body's Message with
 * anything that looks like a key ID redacted. The SDK error itself (URLs, headers, whole bodies) is not kept.
 */
export class EcsCallError extends Error {
  readonly code: string | undefined;
  readonly statusCode: number | undefined;
  readonly requestId: string | undefined;
  /** The ECS body's Message (redacted), shaped like the SDK's `data` so `accountsNamedInError` can read it. */
  readonly data: { Message?: string };

  constructor(p: Probe, requestId: string | undefined) {
    super(`${p.name || 'Error'} ${p.code ?? ''}${p.statusCode === undefined ? '' : ` HTTP ${p.statusCode}`}`.trim());
    this.name = 'EcsCallError';
    this.code = p.code;
    this.statusCode = p.statusCode;
    this.requestId = requestId;
    this.data = p.bodyMessage === undefined ? {} : { Message: p.bodyMessage.replace(KEY_ID_PATTERN, '[redacted]') };
  }
}

function scrubbedCause(err: unknown, p: Probe): EcsCallError {
  const o = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  return new EcsCallError(p, str(o.requestId));
}

function isTransport(p: Probe): boolean {
  if (p.name === 'RequestTimeoutError') return true;
  return p.code !== undefined && TRANSPORT_CODES.has(p.code);
}

function fromEntry(
  code: string,
  entry: Readonly<EcsErrorEntry>,
  p: Probe,
  accounts: readonly string[] | undefined,
  cause: unknown,
): CloudError {
  const message =
    accounts && accounts.length > 0 && entry.accountMessage ? entry.accountMessage(accounts) : entry.message;
  // A throttling answer is a `wait` only when ECS said how long; without retry-after it is plain backoff.
  const kind = entry.kind === W && p.retryAfter === undefined ? R : entry.kind;
  return new CloudError(
    {
      code,
      kind,
      reason: entry.reason,
      message,
      accountSpecific: entry.accountSpecific,
      retryAfterMs: p.retryAfter,
      httpStatus: p.statusCode,
    },
    { cause },
  );
}

/** A 2xx answer whose body carries an error code (ecs-factory.ts checks every answer): never believed as success. */
export class ErrorInBody extends Error {
  readonly bodyCode: string;
  readonly httpStatus: number | undefined;
  constructor(bodyCode: string, httpStatus: unknown) {
    super(`a ${String(httpStatus)} answer carries error code ${bodyCode}`);
    this.name = 'ErrorInBody';
    this.bodyCode = bodyCode;
    this.httpStatus = typeof httpStatus === 'number' ? httpStatus : undefined;
  }
}

/** The `Code` of an answer body that carries one (ECS success bodies never do). */
export function errorCodeInBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const o = body as Record<string, unknown>;
  const code = o.Code ?? o.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/**
 * The second half of the table: failures raised on this side of the wire, which carry no ECS code. Each is keyed by
 * the code the CloudError gets; `localCode` decides which one applies from the thrown value's type and code.
 */
const LOCAL_ROWS = {
  // The transport failed: refused, reset, cut mid-body or the SDK's own idle timeouts.
  Transport: [
    R,
    Reason.CloudUnreachable,
    'ECS could not be reached or did not answer in time; the operator retries with backoff.',
  ],
  DeadlineExceeded: [
    R,
    Reason.CloudUnreachable,
    'ECS did not finish answering within the request deadline (--ecs-timeout); the operator retries with backoff.',
  ],
  ResponseTooLarge: [
    R,
    Reason.CloudAPIError,
    'ECS answered with a response larger than the operator accepts, so it is treated as malformed; the operator retries with backoff.',
  ],
  ErrorInBody: [
    R,
    Reason.CloudAPIError,
    'ECS answered with HTTP 200 but an error code in the body; the operator does not believe the call succeeded, reads the image again and retries.',
  ],
  NonJSONResponse: [
    R,
    Reason.CloudUnavailable,
    'ECS answered with a non-JSON page (for example a gateway error); the operator retries with backoff.',
  ],
  StsUnavailable: [
    R,
    Reason.CloudUnreachable,
    'The operator could not obtain cloud credentials for now (STS or the identity endpoint timed out, throttled or failed); it retries with backoff.',
  ],
  CredentialsUnavailable: [
    T,
    Reason.InvalidCredentials,
    'The operator could not obtain cloud credentials (default chain, RRSA or role assumption failed); check its identity and the role trust policy.',
  ],
  // The operator's own rate budget had no token within its wait limit: nothing was sent; come back later.
  RateBudgetTimeout: [
    W,
    Reason.Throttled,
    "The operator's rate budget for this account and region had no room for the call in time (ECS throttled it recently); the operator comes back later.",
  ],
  UnexpectedError: [
    R,
    Reason.CloudAPIError,
    'Calling ECS failed with an unexpected client-side error; the operator retries with backoff.',
  ],
} as const satisfies Record<string, [ErrorKind, Reason, string]>;

/** The local row for a thrown value that is not an ECS answer, by its type (name) and code. */
function localCode(err: unknown, p: Probe): keyof typeof LOCAL_ROWS {
  if (p.name === 'RequestBoundError' && p.code === 'DeadlineExceeded') return 'DeadlineExceeded';
  if (p.name === 'RequestBoundError' && p.code === 'ResponseTooLarge') return 'ResponseTooLarge';
  if (p.name === 'ErrorInBody') return 'ErrorInBody';
  if (p.name === 'CredentialsProviderError')
    return (err as { transient?: unknown }).transient === true ? 'StsUnavailable' : 'CredentialsUnavailable';
  if (p.name === 'BudgetWaitTimeout') return 'RateBudgetTimeout';
  if (isTransport(p)) return 'Transport';
  if (p.name === 'SyntaxError') return 'NonJSONResponse';
  return 'UnexpectedError';
}

/** For a refused AssumeRole: a sentence naming the role and STS's code, so the fix is clear. */
function roleRefusal(err: unknown): string | undefined {
  const { role, stsCode, source } = err as { role?: unknown; stsCode?: unknown; source?: unknown };
  if (typeof role !== 'string') return undefined;
  const why = typeof stsCode === 'string' ? ` (${stsCode})` : '';
  if (source === 'rrsa')
    return `STS refused the operator's own RRSA identity, role ${role}${why}: check that the role's trust policy names the cluster's OIDC provider and the operator's ServiceAccount, and that the projected token is fresh and has the STS audience.`;
  return `STS refused to let the operator assume role ${role}${why}: check that the role exists and that its trust policy allows the operator's identity, or correct spec.credentials.roleArn.`;
}

/** The code a CloudError from a local row carries (malformed answers share one code; transport keeps its own). */
function localErrorCode(row: keyof typeof LOCAL_ROWS, p: Probe): string {
  if (row === 'ResponseTooLarge' || row === 'ErrorInBody') return 'MalformedResponse';
  if (row !== 'Transport') return row;
  if (p.name === 'RequestTimeoutError') return 'RequestTimeout';
  return p.code ?? 'ConnectionReset';
}

function classifyLocal(err: unknown, p: Probe, cause: unknown): CloudError {
  const row = localCode(err, p);
  const [kind, reason, generic] = LOCAL_ROWS[row];
  const message = row === 'CredentialsUnavailable' ? (roleRefusal(err) ?? generic) : generic;
  // A 2xx carrying an error keeps its status: it tells outcomeUnknown the request reached ECS.
  const httpStatus = row === 'ErrorInBody' ? ((err as ErrorInBody).httpStatus ?? 200) : p.statusCode;
  const code = localErrorCode(row, p);
  const waitMs = row === 'RateBudgetTimeout' ? (err as BudgetWaitTimeout).waitMs : undefined;
  const retryAfterMs = typeof waitMs === 'number' && Number.isFinite(waitMs) ? waitMs : undefined;
  return new CloudError({ code, kind, reason, message, accountSpecific: false, httpStatus, retryAfterMs }, { cause });
}

function classifyUnknownCode(code: string, p: Probe, cause: unknown): CloudError {
  const status = p.statusCode;
  const serverSide = status === undefined || status >= 500 || p.name === 'ServerError';
  const safe = safeCode(code);
  const base = { code: safe, accountSpecific: false, retryAfterMs: p.retryAfter, httpStatus: status };
  if (p.name === 'ThrottlingError' || safe.includes('Throttling')) {
    return new CloudError(
      {
        ...base,
        kind: p.retryAfter === undefined ? R : W,
        reason: Reason.Throttled,
        message: `ECS is throttling API calls (${safe}); the operator waits and retries.`,
      },
      { cause },
    );
  }
  if (serverSide) {
    return new CloudError(
      {
        ...base,
        kind: R,
        reason: Reason.CloudUnavailable,
        message: `ECS failed with unexpected server error ${safe} (HTTP ${status ?? 'unknown'}); the operator retries with backoff.`,
      },
      { cause },
    );
  }
  return new CloudError(
    {
      ...base,
      kind: T,
      reason: Reason.CloudAPIError,
      message: `ECS rejected the request with error code ${safe} (HTTP ${status}), which the operator does not know; look the code up in the ECS error center.`,
    },
    { cause },
  );
}

/**
 * True when `err`, thrown while obtaining credentials (STS, the identity endpoint), is worth a retry, judged by type
 * and code: an SDK error whose code the table calls transient (throttling, 5xx), a 5xx without a known code, a
 * transport failure (timeout, reset, refused), a request bound, or an STS answer without credentials. Anything
 * else (a refusal, a bare message) is not.
 */
export function transientFailure(err: unknown): boolean {
  const p = probe(err);
  if (p.statusCode !== undefined || /^(ClientError|ServerError|ThrottlingError)$/.test(p.name))
    return classify(err).kind !== ErrorKind.Terminal;
  return isTransport(p) || p.name === 'RequestBoundError' || p.name === 'StsMalformedAnswer';
}

/**
 * Turns anything thrown while calling ECS into a CloudError. Never throws. A CloudError passes through unchanged.
 * Recognises the SDK's ThrottlingError/ClientError/ServerError (by `name` and `code`, never by `instanceof`),
 * transport errors (refused, reset, aborted, timeouts), non-JSON error pages (a bare SyntaxError) and unknown
 * codes (5xx transient, 4xx terminal). Messages come from the table, never from the SDK (whose messages carry
 * request ids and URLs); for account-specific codes, `accounts` (the culprits) may be named in the message.
 */
export function classify(err: unknown, accounts?: readonly string[]): CloudError {
  if (err instanceof CloudError) return err;
  const p = probe(err);
  const isApiError = p.statusCode !== undefined || /^(ClientError|ServerError|ThrottlingError)$/.test(p.name);
  const cause = scrubbedCause(err, p);
  if (!isApiError) return classifyLocal(err, p, cause);
  const code = p.code ?? 'Unknown';
  const entry = lookupEcsError(code);
  if (entry) return fromEntry(code, entry, p, accounts, cause);
  return classifyUnknownCode(code, p, cause);
}

/** The former name of `classify`, kept while test/repo/docs-drift.test.ts (docs-final's) still imports it. */
export const classifyEcsError = classify;
