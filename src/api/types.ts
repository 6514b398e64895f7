// ImageShare spec and status, as served by crds/imageshare.yaml (the schema source of truth).
// test/unit/api-types.test.ts fails when the field lists below and the CRD disagree.

export const GROUP = 'ecs.alicloud.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'ImageShare';
export const PLURAL = 'imageshares';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FINALIZER = 'ecs.alicloud.dev/cleanup';

export const SharePolicy = { Authoritative: 'Authoritative', Additive: 'Additive' } as const;
export type SharePolicy = (typeof SharePolicy)[keyof typeof SharePolicy];
export const DeletionPolicy = { Retain: 'Retain', Revoke: 'Revoke' } as const;
export type DeletionPolicy = (typeof DeletionPolicy)[keyof typeof DeletionPolicy];
export const Mode = { Apply: 'Apply', Plan: 'Plan' } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export interface SecretRef {
  name: string;
}
export interface CredentialsSpec {
  secretRef?: SecretRef;
  roleArn?: string;
}

/** An account shared until `expiresAt` (RFC 3339), then revoked (docs/adr/0032). */
export interface ExpiringAccount {
  id: string;
  expiresAt: string;
}

/** An AccountSet in the object's namespace or a ClusterAccountSet whose accounts are shared too (docs/adr/0033). */
export interface AccountSetReference {
  kind: 'AccountSet' | 'ClusterAccountSet';
  name: string;
}

export interface ImageShareSpec {
  regionId: string;
  imageId: string;
  accounts?: string[];
  expiringAccounts?: ExpiringAccount[];
  /** Resolved by the controller into the accounts a pass plans with; never written back (docs/adr/0033). */
  accountSetRefs?: AccountSetReference[];
  /** true = publish, false = unpublish, absent = never touch the community flag. */
  community?: boolean;
  sharePolicy?: SharePolicy;
  deletionPolicy?: DeletionPolicy;
  mode?: Mode;
  suspend?: boolean;
  credentials?: CredentialsSpec;
  /** A Go-style duration such as "10m" or "1h30m", bounded 1m..24h by the CRD. */
  resyncInterval?: string;
}

export const ConditionStatus = { True: 'True', False: 'False', Unknown: 'Unknown' } as const;
export type ConditionStatus = (typeof ConditionStatus)[keyof typeof ConditionStatus];
export const ConditionType = { Ready: 'Ready', Reconciling: 'Reconciling', Stalled: 'Stalled' } as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export const AccountState = { Shared: 'Shared', Pending: 'Pending', Failed: 'Failed', Expired: 'Expired' } as const;
export type AccountState = (typeof AccountState)[keyof typeof AccountState];

export interface AccountOutcome {
  id: string;
  state: AccountState;
  reason?: string;
  message?: string;
  sharedTime?: string;
  /** For an expiringAccounts entry: when its share ends (or ended). */
  expiresAt?: string;
}

export const CommunityAction = { Publish: 'Publish', Unpublish: 'Unpublish' } as const;
export type CommunityAction = (typeof CommunityAction)[keyof typeof CommunityAction];

export interface PlanStatus {
  grant: string[];
  revoke: string[];
  community?: CommunityAction;
}

export const PendingAction = { Grant: 'Grant', Revoke: 'Revoke', Publish: 'Publish', Unpublish: 'Unpublish' } as const;
export type PendingAction = (typeof PendingAction)[keyof typeof PendingAction];

/**
 * A cloud write that a read has not shown yet. Grants and publishes are recorded here *before* they are sent
 * (intent), so a crash can never lose ownership; every accepted write stays here until a read confirms it or the
 * confirmation window after `since` passes.
 */
export interface PendingWrite {
  action: PendingAction;
  /** The account, for Grant and Revoke. */
  account?: string;
  /** RFC 3339: when the write was recorded (intent) or accepted. */
  since: string;
  /**
   * Revoke only: ECS's SharedTime of the share it revoked, from the read the pass planned from. A later read showing
   * the account with a newer SharedTime is a new share someone else made, not a stale read.
   */
  sharedTime?: string;
}

export interface ImageInfo {
  name: string;
  status: string;
  encrypted: boolean;
}

export interface ImageShareStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  image?: ImageInfo;
  community?: boolean;
  sharedAccounts?: string[];
  /** len(sharedAccounts), for the Accounts printer column (a JSONPath cannot count). */
  sharedAccountCount?: number;
  managedAccounts?: string[];
  /** true when this object published the image (drives deletionPolicy Revoke). */
  managedCommunity?: boolean;
  /** Writes sent (or about to be) that no read has confirmed yet; see PendingWrite. */
  pendingWrites?: PendingWrite[];
  /**
   * The cloud identity the grants and publishes were made with, as a fingerprint (src/reconcile/identity.ts): cleanup
   * takes ImageNotFound as done only when it reads with this identity.
   */
  grantIdentity?: string;
  /** Per managed account, ECS's SharedTime of our grant: a newer one later means someone else shared it again. */
  managedSince?: Record<string, string>;
  accounts?: AccountOutcome[];
  plan?: PlanStatus;
  lastSyncTime?: string;
  /** The operator installation that reconciles this object (--installation-id); others leave it alone. */
  installation?: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface ImageShare {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: ImageShareSpec;
  status?: ImageShareStatus;
}

/** Field names per object, checked against the CRD by test/unit/api-types.test.ts. */
export const SPEC_FIELDS = {
  regionId: true,
  imageId: true,
  accounts: true,
  expiringAccounts: true,
  accountSetRefs: true,
  community: true,
  sharePolicy: true,
  deletionPolicy: true,
  mode: true,
  suspend: true,
  credentials: true,
  resyncInterval: true,
} as const satisfies Record<keyof ImageShareSpec, true>;
export const STATUS_FIELDS = {
  observedGeneration: true,
  conditions: true,
  image: true,
  community: true,
  sharedAccounts: true,
  sharedAccountCount: true,
  managedAccounts: true,
  managedCommunity: true,
  pendingWrites: true,
  grantIdentity: true,
  managedSince: true,
  accounts: true,
  plan: true,
  lastSyncTime: true,
  installation: true,
} as const satisfies Record<keyof ImageShareStatus, true>;
