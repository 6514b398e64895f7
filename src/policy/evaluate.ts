// The tenancy rules of docs/adr/0024, as a pure function: the chart's ValidatingAdmissionPolicies compute the same
// thing in CEL (test/integration/admission-policy.test.ts runs one table against both).
import {
  Allowance,
  Enforcement,
  type ImageSharePolicy,
  type ImageSharePolicySpec,
  type LabelSelector,
  type LabelSelectorRequirement,
  POLICY_DEFAULTS,
  SelectorOperator,
} from '../api/policy-types.ts';
import { type CredentialsSpec, type ImageShareSpec, SharePolicy } from '../api/types.ts';

export const TenancyMode = { Open: 'open', Restricted: 'restricted' } as const;
export type TenancyMode = (typeof TenancyMode)[keyof typeof TenancyMode];

export interface Tenancy {
  mode: TenancyMode;
  /** Namespaces that may use the operator's identity or a roleArn in restricted mode. */
  trustedNamespaces: readonly string[];
}

/** Rule names are the policy's field paths, in the order they are checked. */
export const PolicyRule = {
  /** Restricted mode while the policies cannot be read (src/policy/policy-cache.ts): nothing was judged. */
  Mode: 'tenancy.mode',
  TrustedNamespaces: 'tenancy.trustedNamespaces',
  OperatorIdentity: 'credentials.operatorIdentity',
  SecretRef: 'credentials.secretRef',
  RoleArns: 'credentials.roleArns',
  Regions: 'images.regions',
  ImageIds: 'images.imageIds',
  Accounts: 'recipients.accounts',
  Community: 'community',
  Authoritative: 'authoritative',
} as const;
export type PolicyRule = (typeof PolicyRule)[keyof typeof PolicyRule];

/** The name a baseline denial carries in place of a policy name. */
export const BASELINE = 'tenancy baseline';

/** A denial says whether it is enforced: `enforcedBy` names the first policy (by name) that asks to revoke. */
export type Decision =
  | { allowed: true }
  | { allowed: false; policy: string; rule: PolicyRule; message: string; enforce: boolean; enforcedBy?: string };

export interface NamespaceInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** Exact, or a prefix ending in one '*' ('*' alone matches anything). */
export function matchesPattern(pattern: string, value: string): boolean {
  return pattern === value || (pattern.endsWith('*') && value.startsWith(pattern.slice(0, -1)));
}

function requirementHolds(e: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, e.key);
  const inValues = present && (e.values ?? []).includes(labels[e.key] as string);
  switch (e.operator) {
    case SelectorOperator.In:
      return inValues;
    case SelectorOperator.NotIn:
      return !inValues;
    case SelectorOperator.Exists:
      return present;
    default:
      return !present;
  }
}

/** Kubernetes label-selector semantics: matchLabels and every matchExpression must hold; {} selects everything. */
export function selects(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const labelsHold = Object.entries(selector.matchLabels ?? {}).every(
    ([k, v]) => Object.hasOwn(labels, k) && labels[k] === v,
  );
  return labelsHold && (selector.matchExpressions ?? []).every((e) => requirementHolds(e, labels));
}

const list = (patterns: readonly string[]): string => (patterns.length === 0 ? 'none' : patterns.join(', '));
const anyMatch = (patterns: readonly string[], value: string): boolean =>
  patterns.some((p) => matchesPattern(p, value));

type Denial = { rule: PolicyRule; detail: string } | undefined;

function credentialsDenial(p: ImageSharePolicySpec, creds: CredentialsSpec | undefined): Denial {
  if (creds === undefined) {
    return (p.credentials?.operatorIdentity ?? POLICY_DEFAULTS.operatorIdentity)
      ? undefined
      : {
          rule: PolicyRule.OperatorIdentity,
          detail: "the operator's own identity (no spec.credentials) is not allowed; set credentials.secretRef",
        };
  }
  if (creds.secretRef !== undefined && !(p.credentials?.secretRef ?? POLICY_DEFAULTS.secretRef)) {
    return { rule: PolicyRule.SecretRef, detail: 'credentials.secretRef is not allowed' };
  }
  const roles = p.credentials?.roleArns ?? [];
  if (creds.roleArn !== undefined && !anyMatch(roles, creds.roleArn)) {
    return {
      rule: PolicyRule.RoleArns,
      detail: `roleArn ${creds.roleArn} matches none of the allowed roles (${list(roles)})`,
    };
  }
  return undefined;
}

function imageDenial(p: ImageSharePolicySpec, spec: ImageShareSpec): Denial {
  const regions = p.images?.regions;
  if (regions !== undefined && !anyMatch(regions, spec.regionId)) {
    return { rule: PolicyRule.Regions, detail: `region ${spec.regionId} matches none of (${list(regions)})` };
  }
  const images = p.images?.imageIds;
  if (images !== undefined && !anyMatch(images, spec.imageId)) {
    return { rule: PolicyRule.ImageIds, detail: `image ${spec.imageId} matches none of (${list(images)})` };
  }
  const recipients = p.recipients?.accounts;
  // Every account the spec names, expiring ones included (in force or not), as the admission policy sees them.
  const named = [...new Set([...(spec.accounts ?? []), ...(spec.expiringAccounts ?? []).map((e) => e.id)])];
  const outside = recipients === undefined ? [] : named.filter((a) => !anyMatch(recipients, a));
  if (outside.length > 0) {
    return {
      rule: PolicyRule.Accounts,
      detail: `accounts ${outside.join(', ')} match none of the allowed recipients (${list(recipients ?? [])})`,
    };
  }
  return undefined;
}

function exposureDenial(p: ImageSharePolicySpec, spec: ImageShareSpec): Denial {
  if (spec.community === true && (p.community ?? POLICY_DEFAULTS.community) !== Allowance.Allowed) {
    return { rule: PolicyRule.Community, detail: 'publishing as a community image (community: true) is not allowed' };
  }
  const authoritative = (spec.sharePolicy ?? SharePolicy.Authoritative) === SharePolicy.Authoritative;
  if (authoritative && (p.authoritative ?? POLICY_DEFAULTS.authoritative) !== Allowance.Allowed) {
    return {
      rule: PolicyRule.Authoritative,
      detail: 'sharePolicy Authoritative is not allowed; set sharePolicy: Additive',
    };
  }
  return undefined;
}

/** The first rule of one policy that denies the spec (in PolicyRule order), or undefined when it allows it. */
function denial(policy: ImageSharePolicy, spec: ImageShareSpec): Denial {
  return (
    credentialsDenial(policy.spec, spec.credentials) ??
    imageDenial(policy.spec, spec) ??
    exposureDenial(policy.spec, spec)
  );
}

/**
 * Whether an ImageShare with this spec may exist in this namespace: the tenancy baseline first (restricted mode), then
 * every policy that selects the namespace, in name order; the first denial is returned.
 */
export function evaluate(
  spec: ImageShareSpec,
  namespace: NamespaceInfo,
  policies: readonly ImageSharePolicy[],
  tenancy: Tenancy,
): Decision {
  const selecting = [...policies]
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
    .filter((p) => selects(p.spec.namespaceSelector, namespace.labels));
  const d = firstDenial(spec, namespace, selecting, tenancy);
  return d.allowed ? d : { ...d, ...enforcement(selecting) };
}

/**
 * Any policy selecting the namespace with enforcement Revoke enforces every denial there, the baseline's included
 * (docs/adr/0030, amendment); with none, a denial is reported only.
 */
function enforcement(selecting: readonly ImageSharePolicy[]): { enforce: boolean; enforcedBy?: string } {
  const by = selecting.find((p) => (p.spec.enforcement ?? POLICY_DEFAULTS.enforcement) === Enforcement.Revoke);
  return by ? { enforce: true, enforcedBy: by.metadata.name } : { enforce: false };
}

type Denied = Omit<Decision & { allowed: false }, 'enforce' | 'enforcedBy'>;

function firstDenial(
  spec: ImageShareSpec,
  namespace: NamespaceInfo,
  selecting: readonly ImageSharePolicy[],
  tenancy: Tenancy,
): { allowed: true } | Denied {
  const borrowsOperator = spec.credentials === undefined || spec.credentials.roleArn !== undefined;
  if (
    tenancy.mode === TenancyMode.Restricted &&
    borrowsOperator &&
    !tenancy.trustedNamespaces.includes(namespace.name)
  ) {
    return {
      allowed: false,
      policy: BASELINE,
      rule: PolicyRule.TrustedNamespaces,
      message: `${BASELINE} denies rule ${PolicyRule.TrustedNamespaces}: namespace ${namespace.name} is not trusted to use the operator's identity or a roleArn; use credentials.secretRef, or a cluster admin adds the namespace to the chart value tenancy.trustedNamespaces (or sets tenancy.mode: open)`,
    };
  }
  for (const policy of selecting) {
    const d = denial(policy, spec);
    if (d !== undefined) {
      return {
        allowed: false,
        policy: policy.metadata.name,
        rule: d.rule,
        message: `ImageSharePolicy ${policy.metadata.name} denies rule ${d.rule}: ${d.detail}`,
      };
    }
  }
  return { allowed: true };
}
