// The ECS error catalogue the emulator answers from: code → documented HTTP status and message. The MISP rows are
// the seed page's table (test/contract/emulator-error-table.test.ts walks every one of them); the rest are the
// common POP codes of reference §3.2 and the DescribeImages/DISP codes of §2.

export interface ErrorSpec {
  status: number;
  message: string;
}

/** Every code of the ModifyImageSharePermission page (seed/ModifyImageSharePermission.txt), typos included. */
export const MISP_ERRORS = {
  MissingParameter: {
    status: 400,
    message: 'The input parameter "%s" that is mandatory for processing this request is not supplied.',
  },
  'InvalidGroup.Malformed': { status: 400, message: 'The specified Group is wrongly formed.' },
  'UnnecessaryParameter.LaunchPermission': {
    status: 400,
    message:
      'The specified parameter "LaunchPermission" is unnecessary if paramter "AddAccounts" or "RemoveAccounts" exist.',
  },
  'InvalidParameter.LaunchPermission': {
    status: 400,
    message: 'The specified parameter "LaunchPermission" is invalid.',
  },
  'ForbiddenParameter.LaunchPermission': {
    status: 400,
    message: 'The specified parameter "LaunchPermission" is forbidden for current account.',
  },
  AssumeRoleError: {
    status: 403,
    message: 'Requires a RAM role of AliyunECSShareEncryptImageDefaultRole before sharing encrypted image.',
  },
  'ImageDescription.ContainsSensitiveWords': {
    status: 403,
    message: 'The specified image description contains sensitive words.',
  },
  'ImageName.ContainsSensitiveWords': { status: 403, message: 'The specified image name contains sensitive words.' },
  'Image.Public': { status: 403, message: 'The specified image is public image.' },
  'CurrentRegion.NotSupportPublicImage': { status: 403, message: 'Public image is not supported for current region.' },
  'Image.NotPublic': { status: 403, message: 'The specified image is not public image.' },
  'OperationDeined.FullImage': {
    status: 403,
    message: 'The encrypted image contains multiple snapshots, which do not support share.',
  },
  'QuotaExceed.ShareImage': { status: 403, message: 'The shared Image Quota exceeds.' },
  'QuotaExceed.ShareImageUser': { status: 403, message: 'The shared Image user Quota exceeds.' },
  'InvalidImageId.BidMismatch': { status: 403, message: 'Cannot share the image with users %s of other sites.' },
  'OperationDeined.EncryptedSnapshot': {
    status: 403,
    message: 'The image contains encrypted snapshots, which do not support share.',
  },
  'OperationDenied.InvalidImageStatus': {
    status: 403,
    message: 'The specified image cannot be shared when it is deprecated.',
  },
  'PublicImageAgreement.NotSigned': {
    status: 403,
    message: 'The current account has not signed "Community Image Terms of Service".',
  },
  'InvalidParameter.IsPublic': {
    status: 403,
    message: 'The specified parameter IsPublic is conflicted with other parameters.',
  },
  'InvalidParameter.KMSKeyId.CMKUnauthorized': {
    status: 403,
    message: 'The CMK(Customer Master Key) lacks authorization to add tags to the ECS service.',
  },
  'InvalidParameter.KMSKeyId.CMKNotEnabled': {
    status: 403,
    message: 'The CMK (Customer Master Key) must be in an active state.',
  },
  'InvalidOperation.ServiceKeyEncryptedImageUnsupported': {
    status: 403,
    message:
      'The specified service key encrypted image is not supported for this operation. Please switch to a CMK (Customer Master Key) encrypted image and retry.',
  },
  'InvalidImageId.NotFound': { status: 404, message: 'The specified ImageId does not exist.' },
  'InvalidAccount.NotFound': {
    status: 404,
    message: 'The specified account %s in parameter "AddAccount.n" or "RemoveAccount.n" does not exist.',
  },
  'InvalidAccount.Forbbiden': { status: 404, message: 'The specified Account does not yourself.' },
  'InvalidKMSKeyId.NotFound': { status: 404, message: 'The KMS key used by the disk does not exist.' },
} as const satisfies Record<string, ErrorSpec>;

/** Codes from older MISP tables, DISP/DescribeImages and the common POP table (reference §1.6, §2, §3.2). */
export const OTHER_ERRORS = {
  IncorrectImageStatus: { status: 400, message: 'The current status of the resource does not support this operation.' },
  'InvalidRegionId.NotFound': { status: 404, message: 'The specified RegionId does not exist.' },
  InvalidParameter: { status: 400, message: 'The specified parameter "%s" is not valid.' },
  'InvalidImageOwnerAlias.ValueNotSupported': {
    status: 400,
    message: 'The specified ImageOwnerAlias is not supported.',
  },
  'InvalidImageOwnerAlias.PublicImageUnsupported': {
    status: 400,
    message: 'The specified ImageOwnerAlias does not support IsPublic.',
  },
  DryRunOperation: { status: 400, message: 'Request validation has been passed with DryRun flag set.' },
  // DescribeImages' error table (reference §2.2): more than 20 Tag.N pairs.
  InvalidTagCount: { status: 400, message: 'The specified tags are beyond the permitted range.' },
  'Throttling.User': { status: 400, message: 'Request was denied due to user flow control.' },
  Throttling: { status: 400, message: 'Request was denied due to request throttling.' },
  'Throttling.Api': { status: 400, message: 'Request was denied due to api flow control.' },
  ServiceUnavailable: { status: 503, message: 'The request has failed due to a temporary failure of the server.' },
  InternalError: { status: 500, message: 'The request processing has failed due to some unknown error.' },
  'InvalidAccessKeyId.NotFound': { status: 404, message: 'Specified access key is not found.' },
  'InvalidAccessKeyId.Inactive': { status: 400, message: 'Specified access key is disabled.' },
  SignatureDoesNotMatch: {
    status: 400,
    message: 'Specified signature is not matched with our calculation.',
  },
  IncompleteSignature: { status: 400, message: 'The request signature does not conform to Aliyun standards.' },
  'InvalidTimeStamp.Expired': { status: 400, message: 'Specified time stamp or date value is expired.' },
  'InvalidTimeStamp.Format': { status: 400, message: 'Specified time stamp or date value is not well formatted.' },
  SignatureNonceUsed: { status: 400, message: 'Specified signature nonce was used already.' },
  'InvalidSecurityToken.Malformed': { status: 403, message: 'Specified SecurityToken is malformed.' },
  'InvalidSecurityToken.Expired': { status: 403, message: 'Specified SecurityToken is expired.' },
  'Forbidden.RAM': {
    status: 403,
    message: 'User not authorized to operate on the specified resource, or this API does not support RAM.',
  },
  'InvalidAction.NotFound': { status: 404, message: 'Specified api is not found, please check your url and method.' },
  InvalidVersion: { status: 400, message: 'Specified parameter Version is not valid.' },
  // TagResources / UntagResources.
  'InvalidTagKey.Malformed': { status: 400, message: 'The specified Tag.n.Key is not valid.' },
  'InvalidTagValue.Malformed': { status: 400, message: 'The specified Tag.n.Value is not valid.' },
  'InvalidResourceType.NotFound': { status: 404, message: 'The ResourceType provided does not exist in our records.' },
  'InvalidResourceId.NotFound': { status: 404, message: 'The specified ResourceIds are not found in our records.' },
  'OperationDenied.QuotaExceed': { status: 403, message: 'The quota of tags on resource is beyond permitted range.' },
  // STS AssumeRole (the roleArn path).
  'EntityNotExist.Role': { status: 404, message: 'The role not exists.' },
  NoPermission: { status: 403, message: 'You are not authorized to do this action. You should be authorized by RAM.' },
} as const satisfies Record<string, ErrorSpec>;

export type MispErrorCode = keyof typeof MISP_ERRORS;
export type EcsErrorCode = MispErrorCode | keyof typeof OTHER_ERRORS;

const CATALOGUE: Record<string, ErrorSpec> = { ...MISP_ERRORS, ...OTHER_ERRORS };

/** The documented status of a code, or undefined for codes the emulator does not know. */
export function documentedStatus(code: string): number | undefined {
  return CATALOGUE[code]?.status;
}

/** An ECS API error as the emulator answers it: the body's Code and Message and the HTTP status. */
export class EcsApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra body fields (e.g. AccessDeniedDetail). */
  readonly extra: Record<string, unknown>;

  constructor(code: string, status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'EcsApiError';
    this.code = code;
    this.status = status;
    this.extra = extra;
  }
}

/**
 * Builds the catalogued error for `code`. `args` fill the `%s` placeholders of the documented message; `status`
 * overrides the documented status (for the documented-conflict options).
 */
export function ecsError(
  code: EcsErrorCode,
  opts: { args?: string[]; status?: number; extra?: Record<string, unknown> } = {},
): EcsApiError {
  const spec = CATALOGUE[code] ?? { status: 400, message: code };
  let message: string = spec.message;
  for (const a of opts.args ?? []) message = message.replace('%s', a);
  return new EcsApiError(code, opts.status ?? spec.status, message, opts.extra);
}
