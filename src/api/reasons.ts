// The closed vocabulary of condition and per-account reasons. Every reason a user can see is listed here; the
// ECS error table (src/cloud/ecs-errors.ts) maps each cloud error code to one of them. docs/reasons.md explains
// what to do about each one; test/repo/reasons.test.ts keeps the two in step.

export const Reason = {
  // Lifecycle (set by the reconciler).
  Progressing: 'Progressing', // work is under way or about to be retried
  Synced: 'Synced', // the cloud matches the spec
  Suspended: 'Suspended', // spec.suspend is true
  PlanPending: 'PlanPending', // mode Plan with changes that Apply would make
  PlanInSync: 'PlanInSync', // mode Plan and nothing to change
  DuplicateImageShare: 'DuplicateImageShare', // another, older ImageShare owns this image
  AccountsFailed: 'AccountsFailed', // some accounts failed for account-specific reasons; the rest are done
  CredentialsNotFound: 'CredentialsNotFound', // the referenced Secret or key is missing
  PolicyDenied: 'PolicyDenied', // an ImageSharePolicy or the tenancy baseline forbids this spec (docs/tenancy.md)
  AccountSetNotFound: 'AccountSetNotFound', // a spec.accountSetRefs entry names no existing set (docs/adr/0033)
  TooManyAccounts: 'TooManyAccounts', // accounts plus the referenced sets name more than 50 accounts
  AccountListedTwice: 'AccountListedTwice', // an account both in a referenced set and in expiringAccounts

  // Image state and sharing rules (from ECS codes or from the observed image).
  ImageNotFound: 'ImageNotFound',
  ImageNotAvailable: 'ImageNotAvailable', // still Creating/Waiting: transient
  ImageDeprecated: 'ImageDeprecated',
  ImageIsCommunity: 'ImageIsCommunity',
  ImageNotCommunity: 'ImageNotCommunity',
  ImageNotOwned: 'ImageNotOwned', // shared with us, Marketplace-derived, or a system image
  AccountNotFound: 'AccountNotFound',
  AccountIsOwner: 'AccountIsOwner',
  AccountOtherSite: 'AccountOtherSite',
  AccountQuotaExceeded: 'AccountQuotaExceeded', // the 50-accounts-per-image limit
  ShareImageQuotaExceeded: 'ShareImageQuotaExceeded', // the account-wide shared-image limit
  CommunityAgreementNotSigned: 'CommunityAgreementNotSigned',
  CommunityNotSupportedInRegion: 'CommunityNotSupportedInRegion',
  ContainsSensitiveWords: 'ContainsSensitiveWords',
  EncryptedImageNotPublishable: 'EncryptedImageNotPublishable',
  ServiceKeyEncryptedImage: 'ServiceKeyEncryptedImage',
  EncryptedImageMultipleSnapshots: 'EncryptedImageMultipleSnapshots',
  EncryptedSnapshotUnsupported: 'EncryptedSnapshotUnsupported',
  EncryptedShareRoleMissing: 'EncryptedShareRoleMissing',
  KMSKeyUnauthorized: 'KMSKeyUnauthorized',
  KMSKeyNotEnabled: 'KMSKeyNotEnabled',
  KMSKeyNotFound: 'KMSKeyNotFound',
  RegionNotFound: 'RegionNotFound',
  TagQuotaExceeded: 'TagQuotaExceeded', // the image has the most tags ECS allows: no room for the ownership tag

  // Identity and access.
  InvalidCredentials: 'InvalidCredentials',
  SignatureMismatch: 'SignatureMismatch',
  ClockSkew: 'ClockSkew',
  CredentialsExpired: 'CredentialsExpired',
  AccessDenied: 'AccessDenied',
  RiskControl: 'RiskControl',

  // The cloud itself.
  Throttled: 'Throttled',
  CloudUnavailable: 'CloudUnavailable', // 5xx, HTML error pages
  CloudUnreachable: 'CloudUnreachable', // timeouts, resets, refused connections
  InvalidRequest: 'InvalidRequest', // a request the operator should never send: a bug, please report
  CloudAPIError: 'CloudAPIError', // an unknown code
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
