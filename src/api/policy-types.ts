// ImageSharePolicy, as served by crds/imagesharepolicy.yaml (the schema source of truth; docs/adr/0024).
// test/unit/policy-types.test.ts fails when the field lists below and the CRD disagree.
import { GROUP, VERSION } from './types.ts';

export const POLICY_KIND = 'ImageSharePolicy';
export const POLICY_PLURAL = 'imagesharepolicies';
export const POLICY_API_VERSION = `${GROUP}/${VERSION}`;

export const Allowance = { Allowed: 'Allowed', Denied: 'Denied' } as const;
export type Allowance = (typeof Allowance)[keyof typeof Allowance];
/** What a denial does to grants an object already made (docs/adr/0030, amendment). */
export const Enforcement = { Report: 'Report', Revoke: 'Revoke' } as const;
export type Enforcement = (typeof Enforcement)[keyof typeof Enforcement];
export const SelectorOperator = { In: 'In', NotIn: 'NotIn', Exists: 'Exists', DoesNotExist: 'DoesNotExist' } as const;
export type SelectorOperator = (typeof SelectorOperator)[keyof typeof SelectorOperator];

export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface PolicyCredentials {
  /** Objects without spec.credentials (the operator's own identity). Default false. */
  operatorIdentity?: boolean;
  /** spec.credentials.secretRef. Default true. */
  secretRef?: boolean;
  /** Patterns for spec.credentials.roleArn. Default []: no role. */
  roleArns?: string[];
}
export interface PolicyImages {
  /** Patterns for spec.regionId; absent = any. */
  regions?: string[];
  /** Patterns for spec.imageId; absent = any. */
  imageIds?: string[];
}
export interface PolicyRecipients {
  /** Patterns every spec.accounts entry must match; absent = any. */
  accounts?: string[];
}

export interface ImageSharePolicySpec {
  namespaceSelector: LabelSelector;
  credentials?: PolicyCredentials;
  images?: PolicyImages;
  recipients?: PolicyRecipients;
  /** community: true needs Allowed. Default Denied. */
  community?: Allowance;
  /** sharePolicy Authoritative needs Allowed. Default Allowed. */
  authoritative?: Allowance;
  /** Report (default): a denied object keeps its grants; Revoke: it revokes the grants it made. */
  enforcement?: Enforcement;
}

export interface ImageSharePolicy {
  apiVersion: typeof POLICY_API_VERSION;
  kind: typeof POLICY_KIND;
  metadata: { name: string; resourceVersion?: string; creationTimestamp?: string };
  spec: ImageSharePolicySpec;
}

/** Field names per object, checked against the CRD by test/unit/policy-types.test.ts. */
export const POLICY_SPEC_FIELDS = {
  namespaceSelector: true,
  credentials: true,
  images: true,
  recipients: true,
  community: true,
  authoritative: true,
  enforcement: true,
} as const satisfies Record<keyof ImageSharePolicySpec, true>;
export const POLICY_CREDENTIALS_FIELDS = {
  operatorIdentity: true,
  secretRef: true,
  roleArns: true,
} as const satisfies Record<keyof PolicyCredentials, true>;
export const POLICY_IMAGES_FIELDS = { regions: true, imageIds: true } as const satisfies Record<
  keyof PolicyImages,
  true
>;
export const POLICY_RECIPIENTS_FIELDS = { accounts: true } as const satisfies Record<keyof PolicyRecipients, true>;

/** The CRD defaults, applied by the apiserver; evaluate() applies them too for objects built in code. */
export const POLICY_DEFAULTS = {
  operatorIdentity: false,
  secretRef: true,
  community: Allowance.Denied,
  authoritative: Allowance.Allowed,
  enforcement: Enforcement.Report,
} as const;
