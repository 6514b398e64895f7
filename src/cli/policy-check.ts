// `validate --policy`: the tenancy rules (src/policy/evaluate.ts, the same function the admission policies mirror in
// CEL and the controller runs) applied offline, so a pull request sees a denial before merge.
import { POLICY_KIND, type ImageSharePolicy } from '../api/policy-types.ts';
import type { ImageShare } from '../api/types.ts';
import type { FieldProblem } from '../api/validate.ts';
import { evaluate, PolicyRule, type Tenancy } from '../policy/evaluate.ts';

/** What the policy files hold: the policies, and the labels of the namespaces they name. */
export interface PolicyWorld {
  policies: ImageSharePolicy[];
  labels: Map<string, Record<string, string>>;
}

/** The spec field each rule judges, for the problem's `field`. */
const FIELD: Record<PolicyRule, string> = {
  [PolicyRule.Mode]: 'spec',
  [PolicyRule.TrustedNamespaces]: 'spec.credentials',
  [PolicyRule.OperatorIdentity]: 'spec.credentials',
  [PolicyRule.SecretRef]: 'spec.credentials.secretRef',
  [PolicyRule.RoleArns]: 'spec.credentials.roleArn',
  [PolicyRule.Regions]: 'spec.regionId',
  [PolicyRule.ImageIds]: 'spec.imageId',
  [PolicyRule.Accounts]: 'spec.accounts',
  [PolicyRule.Community]: 'spec.community',
  [PolicyRule.Authoritative]: 'spec.sharePolicy',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Collects ImageSharePolicies and Namespaces (for their labels) from parsed documents; other kinds are ignored.
 * Throws with a message naming the source when a policy has no spec.namespaceSelector.
 */
export function policyWorld(docs: ReadonlyArray<{ source: string; doc: unknown }>): PolicyWorld {
  const world: PolicyWorld = { policies: [], labels: new Map() };
  for (const { source, doc } of docs) {
    if (!isObject(doc) || !isObject(doc.metadata)) continue;
    const name = String(doc.metadata.name ?? '');
    if (doc.kind === 'Namespace') world.labels.set(name, (doc.metadata.labels ?? {}) as Record<string, string>);
    if (doc.kind !== POLICY_KIND) continue;
    if (!isObject(doc.spec) || !isObject(doc.spec.namespaceSelector))
      throw new Error(`${source}: ImageSharePolicy ${name} needs spec.namespaceSelector ({} selects every namespace)`);
    world.policies.push(doc as unknown as ImageSharePolicy);
  }
  return world;
}

/**
 * The policy problem of one ImageShare, or none. A namespace the files do not describe has only the label the
 * apiserver gives every namespace (kubernetes.io/metadata.name); an object without a namespace is in `default`.
 */
export function policyProblems(obj: ImageShare, world: PolicyWorld, tenancy: Tenancy): FieldProblem[] {
  if (!isObject(obj.spec)) return [];
  const name = obj.metadata?.namespace ?? 'default';
  const labels = { ...(world.labels.get(name) ?? {}), 'kubernetes.io/metadata.name': name };
  const d = evaluate(obj.spec, { name, labels }, world.policies, tenancy);
  return d.allowed ? [] : [{ field: FIELD[d.rule], message: d.message }];
}
