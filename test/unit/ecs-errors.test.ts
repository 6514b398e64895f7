import { describe, expect, it } from '@jest/globals';
import OpenApi from '@alicloud/openapi-core';
import { Reason } from '../../src/api/reasons.ts';
import {
  accountsNamedInError,
  classifyEcsError,
  ECS_ERROR_CODES,
  ECS_ERROR_TABLE,
  ErrorInBody,
  errorCodeInBody,
  IMAGE_STATUS_RULES,
  lookupEcsError,
  withImageStatus,
} from '../../src/cloud/ecs-errors.ts';
import { CredentialsProviderError } from '../../src/cloud/credentials.ts';
import { CloudError, type ErrorKind, markMaybeApplied, outcomeUnknown } from '../../src/cloud/port.ts';
import { BudgetWaitTimeout } from '../../src/cloud/rate-budget.ts';
import { RequestBoundError } from '../../src/cloud/request-bounds.ts';

type Row = [code: string, status: number, kind: ErrorKind, reason: Reason, accountSpecific: boolean, why: string];

// Every code of the seed's error table (/work/shared/seed/ModifyImageSharePermission.txt), with its documented status.
const SEED: Row[] = [
  [
    'MissingParameter',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the operator always sends RegionId and ImageId, so a missing one is a bug',
  ],
  [
    'InvalidGroup.Malformed',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the operator never sends legacy group parameters',
  ],
  [
    'UnnecessaryParameter.LaunchPermission',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the operator never sends LaunchPermission',
  ],
  [
    'InvalidParameter.LaunchPermission',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the operator never sends LaunchPermission',
  ],
  [
    'ForbiddenParameter.LaunchPermission',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the operator never sends LaunchPermission',
  ],
  [
    'AssumeRoleError',
    403,
    'terminal',
    Reason.EncryptedShareRoleMissing,
    false,
    'the owner must create the RAM role for encrypted sharing',
  ],
  [
    'ImageDescription.ContainsSensitiveWords',
    403,
    'terminal',
    Reason.ContainsSensitiveWords,
    false,
    'only editing the description helps',
  ],
  [
    'ImageName.ContainsSensitiveWords',
    403,
    'terminal',
    Reason.ContainsSensitiveWords,
    false,
    'only renaming the image helps',
  ],
  [
    'Image.Public',
    403,
    'terminal',
    Reason.ImageIsCommunity,
    false,
    'a community image cannot take account shares until unpublished',
  ],
  [
    'CurrentRegion.NotSupportPublicImage',
    403,
    'terminal',
    Reason.CommunityNotSupportedInRegion,
    false,
    'the region will not grow community support on a retry',
  ],
  [
    'Image.NotPublic',
    403,
    'terminal',
    Reason.ImageNotCommunity,
    false,
    'there is nothing to unpublish (setCommunity(false) treats it as done)',
  ],
  [
    'OperationDeined.FullImage',
    403,
    'terminal',
    Reason.EncryptedImageMultipleSnapshots,
    false,
    'the image itself must change; typo kept as ECS sends it',
  ],
  [
    'QuotaExceed.ShareImage',
    403,
    'terminal',
    Reason.ShareImageQuotaExceeded,
    false,
    'the account-wide quota needs other images unshared or a raise',
  ],
  [
    'QuotaExceed.ShareImageUser',
    403,
    'terminal',
    Reason.AccountQuotaExceeded,
    false,
    'the 50-account limit is on the image, not on one account in the batch',
  ],
  [
    'InvalidImageId.BidMismatch',
    403,
    'terminal',
    Reason.AccountOtherSite,
    true,
    'the named cross-site accounts must be isolated, the rest shared',
  ],
  [
    'OperationDeined.EncryptedSnapshot',
    403,
    'terminal',
    Reason.EncryptedSnapshotUnsupported,
    false,
    'the image must be re-created; typo kept as ECS sends it',
  ],
  [
    'OperationDenied.InvalidImageStatus',
    403,
    'terminal',
    Reason.ImageDeprecated,
    false,
    'a deprecated image stays unshareable until restored',
  ],
  [
    'PublicImageAgreement.NotSigned',
    403,
    'terminal',
    Reason.CommunityAgreementNotSigned,
    false,
    'a human must sign the agreement in the console',
  ],
  [
    'InvalidParameter.IsPublic',
    403,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the adapter never mixes IsPublic with account lists, so this is a bug',
  ],
  [
    'InvalidParameter.KMSKeyId.CMKUnauthorized',
    403,
    'terminal',
    Reason.KMSKeyUnauthorized,
    false,
    'the KMS key policy must change',
  ],
  [
    'InvalidParameter.KMSKeyId.CMKNotEnabled',
    403,
    'terminal',
    Reason.KMSKeyNotEnabled,
    false,
    'someone must enable the key',
  ],
  [
    'InvalidOperation.ServiceKeyEncryptedImageUnsupported',
    403,
    'terminal',
    Reason.ServiceKeyEncryptedImage,
    false,
    'service-key images can never be shared',
  ],
  [
    'InvalidImageId.NotFound',
    404,
    'terminal',
    Reason.ImageNotFound,
    false,
    'spec.imageId or the credentials must change',
  ],
  [
    'InvalidAccount.NotFound',
    404,
    'terminal',
    Reason.AccountNotFound,
    true,
    'one bad account ID must not block the others',
  ],
  [
    'InvalidAccount.Forbbiden',
    404,
    'terminal',
    Reason.AccountIsOwner,
    true,
    'the owner listed as a recipient is one bad entry; typo kept as ECS sends it',
  ],
  ['InvalidKMSKeyId.NotFound', 404, 'terminal', Reason.KMSKeyNotFound, false, 'a deleted key does not come back'],
];

// Older MISP rows (reference §1.6), DescribeImages rows (§2.2), common OpenAPI codes (§3.2) and the SDK's local code.
const OTHER: Row[] = [
  [
    'IncorrectImageStatus',
    400,
    'transient',
    Reason.ImageNotAvailable,
    false,
    'an image still Creating becomes Available by itself',
  ],
  ['InvalidRegionId.NotFound', 404, 'terminal', Reason.RegionNotFound, false, 'spec.regionId must change'],
  ['DryRunOperation', 400, 'terminal', Reason.InvalidRequest, false, 'the adapter never sends DryRun'],
  [
    'InvalidParamter',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    "ECS's own typo in DescribeImages; a bad parameter is our bug",
  ],
  [
    'InvalidImageOwnerAlias.ValueNotSupported',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the adapter only sends self',
  ],
  [
    'InvalidImageOwnerAlias.PublicImageUnsupported',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the adapter never sends IsPublic to DescribeImages',
  ],
  ['Throttling', 400, 'wait', Reason.Throttled, false, 'flow control passes with time; the retry-after says how long'],
  ['Throttling.User', 400, 'wait', Reason.Throttled, false, 'per-user flow control passes with time'],
  ['Throttling.Api', 400, 'wait', Reason.Throttled, false, 'per-API flow control passes with time'],
  ['ServiceUnavailable', 503, 'transient', Reason.CloudUnavailable, false, 'a temporary server failure'],
  [
    'InternalError',
    500,
    'transient',
    Reason.CloudUnavailable,
    false,
    'an unknown server error is worth a retry with backoff',
  ],
  ['InvalidAccessKeyId.NotFound', 404, 'terminal', Reason.InvalidCredentials, false, 'the Secret must hold a real key'],
  [
    'InvalidAccessKeyId.Inactive',
    400,
    'terminal',
    Reason.InvalidCredentials,
    false,
    'a disabled key stays disabled until someone acts',
  ],
  [
    'Forbidden.AccessKeyDisabled',
    403,
    'terminal',
    Reason.InvalidCredentials,
    false,
    'a disabled key stays disabled until someone acts',
  ],
  ['SignatureDoesNotMatch', 400, 'terminal', Reason.SignatureMismatch, false, 'a wrong secret does not fix itself'],
  [
    'IncompleteSignature',
    400,
    'terminal',
    Reason.SignatureMismatch,
    false,
    'a malformed signature usually means a wrong secret',
  ],
  ['InvalidTimeStamp.Expired', 400, 'terminal', Reason.ClockSkew, false, 'the node clock must be fixed'],
  ['IllegalTimestamp', 400, 'terminal', Reason.ClockSkew, false, 'the node clock must be fixed'],
  [
    'InvalidTimeStamp.Format',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the SDK formats the timestamp, so a bad format is a bug',
  ],
  [
    'SignatureNonceUsed',
    400,
    'transient',
    Reason.SignatureMismatch,
    false,
    'ECS already received the request, so its outcome is unknown (port.ts); the next try carries a fresh nonce',
  ],
  [
    'InvalidSecurityToken.Expired',
    403,
    'terminal',
    Reason.CredentialsExpired,
    false,
    'the Secret needs a fresh STS token',
  ],
  ['Forbidden.RAM', 403, 'terminal', Reason.AccessDenied, false, 'a RAM policy must grant the action'],
  ['Forbidden', 403, 'terminal', Reason.AccessDenied, false, 'a policy must grant the action'],
  ['NoPermission', 400, 'terminal', Reason.AccessDenied, false, 'a policy must grant the action'],
  ['Forbidden.RiskControl', 403, 'terminal', Reason.RiskControl, false, 'a human must clear the risk-control block'],
  ['InvalidParameter', 400, 'terminal', Reason.InvalidRequest, false, 'the adapter sends only valid parameters'],
  ['InvalidAction.NotFound', 404, 'terminal', Reason.InvalidRequest, false, 'the SDK names real actions'],
  ['InvalidVersion', 400, 'terminal', Reason.InvalidRequest, false, 'the SDK pins 2014-05-26'],
  [
    'InvalidTagKey.Malformed',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the operator sends one fixed, valid tag key',
  ],
  [
    'InvalidTagValue.Malformed',
    400,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the tag value is built to ECS rules, so a bad one is a bug',
  ],
  [
    'InvalidResourceType.NotFound',
    404,
    'terminal',
    Reason.InvalidRequest,
    false,
    'the adapter always sends ResourceType image',
  ],
  [
    'InvalidResourceId.NotFound',
    404,
    'terminal',
    Reason.ImageNotFound,
    false,
    'the image is gone or the credentials do not own it',
  ],
  [
    'OperationDenied.QuotaExceed',
    403,
    'terminal',
    Reason.TagQuotaExceeded,
    false,
    'a tag must be removed from the image by a human',
  ],
  [
    'InvalidCredentials',
    400,
    'terminal',
    Reason.InvalidCredentials,
    false,
    'raised locally by openapi-core when no credential is configured',
  ],
];

const ALL = [...SEED, ...OTHER];
const FAKE_KEY_ID = 'LTAItestKEY0123456789';
const FAKE_SECRET = 'test-secret-do-not-use-abcdef';

/** An error exactly as openapi-core throws it for an HTTP error answer (client.ts doRequest). */
function sdkError(code: string, status: number, opts: { message?: string; retryAfter?: number } = {}): Error {
  const body = { RequestId: 'REQ-1', HostId: '127.0.0.1', Code: code, Message: opts.message ?? `text for ${code}` };
  const map = {
    statusCode: status,
    code,
    message: `code: ${status}, ${body.Message} request id: REQ-1 (key ${FAKE_KEY_ID}, secret ${FAKE_SECRET})`,
    data: body,
    requestId: 'REQ-1',
    retryAfter: opts.retryAfter,
  };
  if (code.includes('Throttling')) return new OpenApi.ThrottlingError(map);
  return status < 500 ? new OpenApi.ClientError(map) : new OpenApi.ServerError(map);
}

describe('ECS error table', () => {
  it('has exactly one test row per code, so the table and this test cannot drift apart', () => {
    expect([...ALL.map((r) => r[0])].sort()).toEqual([...ECS_ERROR_CODES].sort());
    expect(new Set(ALL.map((r) => r[0])).size).toBe(ALL.length);
  });

  it.each(ALL)('%s (HTTP %d) → %s %s, account-specific %s: %s', (code, status, kind, reason, accountSpecific) => {
    // Throttling is a `wait` only when the server says how long: give it the header ECS would send.
    const err = classifyEcsError(sdkError(code, status, kind === 'wait' ? { retryAfter: 1500 } : {}));
    expect(err).toBeInstanceOf(CloudError);
    expect({ code: err.code, kind: err.kind, reason: err.reason, accountSpecific: err.accountSpecific }).toEqual({
      code,
      kind,
      reason,
      accountSpecific,
    });
    expect(err.httpStatus).toBe(status);
    expect(ECS_ERROR_TABLE[code]?.httpStatus).toBe(status);
  });

  it.each(ALL)('%s: message is one plain sentence without key ID, secret, request id or URL', (code, status) => {
    const err = classifyEcsError(sdkError(code, status, { retryAfter: 10 }));
    expect(err.message).toMatch(/^[A-Z][^\n]*\.$/);
    for (const leak of [FAKE_KEY_ID, FAKE_SECRET, 'REQ-1', 'http', 'text for']) expect(err.message).not.toContain(leak);
  });

  it('keeps only a scrubbed cause: no SDK message, key IDs in the body message redacted', () => {
    const err = classifyEcsError(sdkError('Forbidden.RAM', 403, { message: `User ${FAKE_KEY_ID} denied` }));
    const cause = err.cause as Error & { data: { Message?: string } };
    expect(JSON.stringify({ m: cause.message, d: cause.data })).not.toContain(FAKE_KEY_ID);
    expect(String(cause.message)).not.toContain(FAKE_SECRET);
    expect(cause.data.Message).toBe('User [redacted] denied');
  });

  it.each([
    [
      'InvalidAccount.Forbidden',
      404,
      'the corrected spelling is not what ECS sends, so it must not borrow the typo row',
    ],
    ['OperationDenied.FullImage', 403, 'the corrected spelling of OperationDeined.FullImage is an unknown code'],
    [
      'OperationDenied.EncryptedSnapshot',
      403,
      'the corrected spelling of OperationDeined.EncryptedSnapshot is unknown',
    ],
    ['invalidaccount.notfound', 404, 'codes are case-sensitive'],
  ])('does not match %s: %s', (code, status) => {
    expect(lookupEcsError(code)).toBeUndefined();
    const err = classifyEcsError(sdkError(code, Number(status)));
    expect({ kind: err.kind, reason: err.reason, accountSpecific: err.accountSpecific }).toEqual({
      kind: 'terminal',
      reason: Reason.CloudAPIError,
      accountSpecific: false,
    });
    expect(err.message).toContain(code);
  });

  it.each([
    ['InvalidSecurityToken.Malformed', 'a wrong token in the Secret'],
    ['InvalidSecurityToken.MismatchWithAccessKey', 'a token that belongs to another key'],
  ])('prefix rule: %s → terminal CredentialsExpired (%s)', (code) => {
    const err = classifyEcsError(sdkError(code, 403));
    expect([err.code, err.kind, err.reason]).toEqual([code, 'terminal', Reason.CredentialsExpired]);
  });

  it.each([
    ['Throttling.User', 'a throttle without x-acs-retry-after has no known delay, so it is plain backoff'],
    ['Rejected.Throttling', 'any code containing Throttling is a ThrottlingError in the SDK, known or not'],
  ])('%s without retry-after → transient Throttled: %s', (code) => {
    const err = classifyEcsError(sdkError(code, 400));
    expect([err.kind, err.reason, err.retryAfterMs]).toEqual(['transient', Reason.Throttled, undefined]);
  });

  it('throttling with retry-after → wait, carrying retryAfterMs', () => {
    const err = classifyEcsError(sdkError('Throttling.User', 400, { retryAfter: 2500 }));
    expect([err.kind, err.retryAfterMs]).toEqual(['wait', 2500]);
  });

  it.each([
    ['ServerError 502 with an unknown code', 'BadGatewayish', 502, 'transient', Reason.CloudUnavailable],
    ['ServerError 500 with an unknown code', 'Something.Odd', 500, 'transient', Reason.CloudUnavailable],
    ['ClientError 400 with an unknown code', 'Brand.New.Code', 400, 'terminal', Reason.CloudAPIError],
    ['ClientError 409 with an unknown code', 'Conflict.Thing', 409, 'terminal', Reason.CloudAPIError],
  ])('%s → %s', (_why, code, status, kind, reason) => {
    const err = classifyEcsError(sdkError(String(code), Number(status)));
    expect([err.kind, err.reason, err.code]).toEqual([kind, reason, code]);
    expect(err.message).toContain(String(code));
  });

  it('sanitises an unknown code before naming it', () => {
    const err = classifyEcsError(sdkError('Evil<script>\nCode', 400));
    expect(err.code).toBe('EvilscriptCode');
    expect(err.message).not.toMatch(/[<>\n]/);
  });

  const transport: [string, () => unknown, string][] = [
    [
      'refused',
      () =>
        Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:1 POST http://x/?a failed.`), { code: 'ECONNREFUSED' }),
      'the endpoint may come back',
    ],
    [
      'reset',
      () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      'a dropped connection is worth a retry',
    ],
    ['aborted', () => new Error('aborted'), 'the body was cut mid-stream'],
    [
      'socket hang up',
      () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'the peer closed the socket',
    ],
    [
      'read timeout',
      () => Object.assign(new Error('ReadTimeout(1000). POST http://x failed.'), { name: 'RequestTimeoutError' }),
      'a slow answer may be faster next time',
    ],
    [
      'connect timeout',
      () => Object.assign(new Error('ConnectTimeout: Connect http://x failed.'), { name: 'RequestTimeoutError' }),
      'a slow connect may succeed next time',
    ],
  ];
  it.each(transport)('transport error (%s) → transient CloudUnreachable: %s', (_name, make) => {
    const err = classifyEcsError(make());
    expect([err.kind, err.reason, err.accountSpecific]).toEqual(['transient', Reason.CloudUnreachable, false]);
    expect(err.message).not.toContain('http');
  });

  it('a bare SyntaxError (HTML 502 page) → transient CloudUnavailable, because a gateway page is temporary', () => {
    let thrown: unknown;
    try {
      JSON.parse('<html><body>502 Bad Gateway</body></html>');
    } catch (err: unknown) {
      thrown = err;
    }
    const err = classifyEcsError(thrown);
    expect([err.kind, err.reason, err.code]).toEqual(['transient', Reason.CloudUnavailable, 'NonJSONResponse']);
  });

  it('a credentials failure is recognised by type, not by message: terminal InvalidCredentials or transient', () => {
    const refused = new CredentialsProviderError('could not obtain cloud credentials', false);
    const flaky = new CredentialsProviderError('could not obtain cloud credentials', true);
    expect([classifyEcsError(refused).kind, classifyEcsError(refused).reason]).toEqual([
      'terminal',
      Reason.InvalidCredentials,
    ]);
    expect([classifyEcsError(flaky).kind, classifyEcsError(flaky).code]).toEqual(['transient', 'StsUnavailable']);
    // A bare message that merely talks about credentials is not a credentials failure.
    const bare = classifyEcsError(new Error('unable to get credentials from any of the providers in the chain'));
    expect([bare.code, bare.reason]).toEqual(['UnexpectedError', Reason.CloudAPIError]);
  });

  it('passes a CloudError through unchanged and never throws on odd values', () => {
    const ce = classifyEcsError(sdkError('InternalError', 500));
    expect(classifyEcsError(ce)).toBe(ce);
    for (const odd of [undefined, null, 42, 'boom', {}]) expect(classifyEcsError(odd)).toBeInstanceOf(CloudError);
  });

  describe('account-specific messages', () => {
    it('names the culprit accounts when the caller passes them', () => {
      const err = classifyEcsError(sdkError('InvalidAccount.NotFound', 404), ['123456']);
      expect(err.message).toBe('Account 123456 does not exist; remove or correct it in spec.accounts.');
    });

    it('reads the account IDs ECS named in the body message, not in the SDK message', () => {
      const err = classifyEcsError(
        sdkError('InvalidAccount.NotFound', 404, {
          message: 'The specified account 2000000000000009 in parameter "AddAccount.n" does not exist.',
        }),
      );
      expect(accountsNamedInError(err)).toEqual(['2000000000000009']);
      expect(accountsNamedInError(classifyEcsError(sdkError('InvalidAccount.Forbbiden', 404)))).toEqual([]);
    });
  });
});

describe('answers that must not be believed, classified by type and code (issue 14 items 8, 12, 13)', () => {
  const rows: [string, () => unknown, string, ErrorKind, Reason, boolean, string][] = [
    [
      'a deadline that ended the call',
      () => new RequestBoundError('DeadlineExceeded', 'x'),
      'DeadlineExceeded',
      'transient',
      Reason.CloudUnreachable,
      true,
      'the request may have reached ECS before the answer stalled: a write is unknown',
    ],
    [
      'an answer past the size cap',
      () => new RequestBoundError('ResponseTooLarge', 'x'),
      'MalformedResponse',
      'transient',
      Reason.CloudAPIError,
      true,
      'an oversized answer is a malformed answer, not a crash; a write is unknown',
    ],
    [
      'a 200 whose body carries Throttling.User',
      () => new ErrorInBody('Throttling.User', 200),
      'MalformedResponse',
      'transient',
      Reason.CloudAPIError,
      true,
      'a 200 cannot be trusted to be a refusal or a success: a write is unknown, never accepted',
    ],
    [
      'SignatureNonceUsed',
      () => sdkError('SignatureNonceUsed', 400),
      'SignatureNonceUsed',
      'transient',
      Reason.SignatureMismatch,
      true,
      'ECS already received a request with this nonce: the first may have been applied',
    ],
    [
      'a plain 400 refusal (control)',
      () => sdkError('InvalidAccount.NotFound', 404),
      'InvalidAccount.NotFound',
      'terminal',
      Reason.AccountNotFound,
      false,
      'a definitive 4xx refusal changed nothing',
    ],
  ];
  it.each(rows)('%s → %s, %s, %s, unknown=%s: %s', (_what, make, code, kind, reason, unknown) => {
    const err = classifyEcsError(make());
    expect([err.code, err.kind, err.reason, outcomeUnknown(err)]).toEqual([code, kind, reason, unknown]);
  });

  it('errorCodeInBody reads Code (or code) from a body; success bodies have none', () => {
    expect(errorCodeInBody({ RequestId: 'r', Code: 'InternalError' })).toBe('InternalError');
    expect(errorCodeInBody({ requestId: 'r', code: 'X' })).toBe('X');
    expect(errorCodeInBody({ RequestId: 'r' })).toBeUndefined();
    expect(errorCodeInBody('text')).toBeUndefined();
  });

  const statuses: [string, ErrorKind, string][] = [
    ['CreateFailed', 'terminal', 'a failed build never becomes Available'],
    ['UnAvailable', 'terminal', 'an unavailable image does not recover by itself'],
    ['Creating', 'transient', 'still being created: it will be Available'],
    ['Waiting', 'transient', 'waiting to be created: it will be Available'],
    ['Available', 'transient', 'a race with a status change: try again'],
  ];
  it.each(statuses)('IncorrectImageStatus on an image %s → %s: %s', (status, kind) => {
    const base = classifyEcsError(sdkError('IncorrectImageStatus', 400));
    const err = withImageStatus(markMaybeApplied(base), status);
    expect([err.kind, err.reason, err.maybeApplied]).toEqual([kind, Reason.ImageNotAvailable, true]);
    if (kind === 'terminal') expect(err.message).toContain(status);
  });

  it('no message tells the user to change an immutable field (spec.regionId, spec.imageId)', () => {
    // Why: the API rejects such an edit; the message must say to recreate the object or fix the image instead.
    const messages = [
      ...Object.values(ECS_ERROR_TABLE).map((e) => e.message),
      ...Object.values(IMAGE_STATUS_RULES).map((r) => r.message('CreateFailed')),
    ];
    for (const m of messages) {
      expect(m).not.toMatch(/(check|change|correct|set|edit|fix|update) spec\.(regionId|imageId)/);
      expect(m).not.toMatch(/point the object at|use another region\.|and share the copy\./);
      if (/spec\.(regionId|imageId)/.test(m)) expect(m).toMatch(/immutable/);
    }
  });
});

describe("the operator's own rate budget", () => {
  it('a token wait past its limit → wait RateBudgetTimeout carrying the wait left, and nothing was sent', () => {
    // Why: a worker must not block on a minutes-long server pause; the pass comes back when the budget expects room.
    const err = classifyEcsError(new BudgetWaitTimeout(90_000));
    expect([err.code, err.kind, err.reason, err.retryAfterMs, outcomeUnknown(err)]).toEqual([
      'RateBudgetTimeout',
      'wait',
      Reason.Throttled,
      90_000,
      false,
    ]);
  });
});
