// Offline validation of ImageShare manifests with the same rules the CRD enforces at admission (schema patterns,
// enums, limits, CEL rules and kubectl's strict field validation), so a pull request can be checked without a
// cluster. Pattern-checked fields report the same worded message as the CRD's CEL rule for that field.
// test/integration/validate.test.ts keeps the two in agreement by sending a corpus of manifests to a real
// kube-apiserver and comparing verdicts, fields and messages.
import { API_VERSION, DeletionPolicy, GROUP, KIND, Mode, SharePolicy, SPEC_FIELDS } from './types.ts';

const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const IMAGE = /^m-[a-z0-9]{8,40}$/;
const ACCOUNT = /^[1-9][0-9]{0,19}$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ROLE_ARN = /^acs:ram::[0-9]+:role\/.+$/;
const DURATION = /^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * The worded messages of the CRD's CEL rules for pattern-checked fields (crds/imageshare.yaml, folded to one line).
 * The apiserver prints these after the field path; test/unit/validate.test.ts checks they match the CRD text.
 */
export const PatternMessage = {
  regionId:
    'regionId must be an Alibaba Cloud region ID: lower-case letters, then dash-separated groups of lower-case letters or digits, for example cn-hangzhou or ap-southeast-1',
  imageId:
    'imageId must be a custom image ID: m- followed by 8 to 40 lower-case letters or digits, for example m-bp18ygjuqnwhechc1234',
  account: 'an account ID is 1 to 20 decimal digits without a leading zero, for example 1234567890123456',
  secretName:
    "secretRef.name must be a Secret name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  roleArn:
    'roleArn must be a RAM role ARN of the form acs:ram::<account ID>:role/<role name>, for example acs:ram::1234567890123456:role/image-sharer',
  resyncInterval: 'resyncInterval must be a Go duration such as 10m or 1h30m (units ns, us, ms, s, m, h)',
} as const;

/**
 * One problem: the field path as the apiserver names it (`spec.accounts[0]`, or `` for the whole object). Like the
 * apiserver, a string over its maximum length is reported as too long only, not also as not matching its pattern.
 */
export interface FieldProblem {
  field: string;
  message: string;
}

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
// ObjectMeta's fields: kubectl's strict field validation rejects anything else in metadata too.
const METADATA_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const OTHER_KINDS: ReadonlySet<string> = new Set([
  'imageshareset',
  'accountset',
  'clusteraccountset',
  'imagesharepolicy',
]);

/**
 * Whether `doc` is meant to be an ImageShare: the right kind, or our API group, or a kind that differs from
 * ImageShare only in case or plural. Such a document is validated (and a wrong kind reported) rather than skipped.
 */
export function looksLikeImageShare(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  const kind = typeof doc.kind === 'string' ? doc.kind.toLowerCase() : '';
  const group = typeof doc.apiVersion === 'string' ? doc.apiVersion.split('/')[0] : '';
  // The group's other kinds are not ImageShares (docs/adr/0027, 0028): skipped, not reported as a wrong kind.
  if (OTHER_KINDS.has(kind)) return false;
  return kind === 'imageshare' || kind === 'imageshares' || group === GROUP;
}

/** Every problem with `doc` as an ImageShare, as "field: what is wrong" sentences; empty when it is valid. */
export function validateImageShare(doc: unknown): string[] {
  return validateImageShareFields(doc).map(formatProblem);
}

export function formatProblem(p: FieldProblem): string {
  return p.field === '' ? p.message : `${p.field}: ${p.message}`;
}

/** Every problem with `doc` as an ImageShare, with the apiserver's field paths; empty when it is valid. */
export function validateImageShareFields(doc: unknown): FieldProblem[] {
  if (!isObj(doc)) return [{ field: '', message: 'the document is not an object' }];
  const p: FieldProblem[] = [];
  if (doc.apiVersion !== API_VERSION)
    p.push({ field: 'apiVersion', message: `must be ${API_VERSION}, got ${JSON.stringify(doc.apiVersion ?? null)}` });
  if (doc.kind !== KIND) {
    p.push({
      field: 'kind',
      message: `must be ${KIND} (kinds are case-sensitive), got ${JSON.stringify(doc.kind ?? null)}`,
    });
  }
  unknownFields(p, '', doc, ROOT_FIELDS);
  p.push(...validateMetadata(doc.metadata));
  if (doc.spec === undefined) p.push({ field: 'spec', message: 'Required value' });
  else if (!isObj(doc.spec)) p.push({ field: 'spec', message: 'must be an object' });
  else p.push(...validateSpec(doc.spec));
  return p;
}

export function unknownFields(p: FieldProblem[], prefix: string, obj: Obj, known: ReadonlySet<string>): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key))
      p.push({ field: `${prefix}${key}`, message: 'unknown field (misspelled, or not in this API version)' });
  }
}

export function validateMetadata(meta: unknown): FieldProblem[] {
  if (!isObj(meta)) return [{ field: 'metadata.name', message: 'Required value' }];
  const p: FieldProblem[] = [];
  unknownFields(p, 'metadata.', meta, METADATA_FIELDS);
  if (meta.name === undefined) p.push({ field: 'metadata.name', message: 'Required value' });
  else if (typeof meta.name !== 'string' || meta.name.length > 253 || !DNS_SUBDOMAIN.test(meta.name)) {
    p.push({ field: 'metadata.name', message: 'must be a lower-case DNS subdomain name (letters, digits, - and .)' });
  }
  return p;
}

function validateSpec(spec: Obj): FieldProblem[] {
  const p: FieldProblem[] = [];
  unknownFields(p, 'spec.', spec, new Set(Object.keys(SPEC_FIELDS)));
  requiredPattern(p, spec, 'regionId', REGION, 64, PatternMessage.regionId);
  requiredPattern(p, spec, 'imageId', IMAGE, 42, PatternMessage.imageId);
  templateRecipients(p, spec);
  p.push(...validateAccountSetRefs(spec.accountSetRefs, spec.community));
  templatePolicies(p, spec);
  if (spec.community === true && Array.isArray(spec.accounts) && spec.accounts.length > 0) {
    p.push({
      field: 'spec.accounts',
      message: `community: true cannot be combined with a non-empty accounts list: a community image is already visible to every account in region ${String(spec.regionId)}`,
    });
  }
  templateAccess(p, spec);
  return p;
}

/** The recipients an ImageShare and an ImageShareSet's template share: `accounts` and `expiringAccounts`. */
export function templateRecipients(p: FieldProblem[], spec: Obj): void {
  p.push(...validateAccounts(spec.accounts));
  p.push(...validateExpiring(spec.expiringAccounts, spec.accounts, spec.community));
}

/** The switches and policies an ImageShare and an ImageShareSet's template share. */
export function templatePolicies(p: FieldProblem[], spec: Obj): void {
  for (const key of ['community', 'suspend'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'boolean')
      p.push({ field: `spec.${key}`, message: 'must be true or false' });
  }
  oneOf(p, spec, 'sharePolicy', Object.values(SharePolicy));
  oneOf(p, spec, 'deletionPolicy', Object.values(DeletionPolicy));
  oneOf(p, spec, 'mode', Object.values(Mode));
}

/** `credentials` and `resyncInterval`, the same on an ImageShare and an ImageShareSet's template. */
export function templateAccess(p: FieldProblem[], spec: Obj): void {
  if (spec.credentials !== undefined) p.push(...validateCredentials(spec.credentials));
  if (spec.resyncInterval !== undefined) p.push(...validateResync(spec.resyncInterval));
}

function requiredPattern(p: FieldProblem[], spec: Obj, key: string, re: RegExp, max: number, message: string): void {
  const v = spec[key];
  const field = `spec.${key}`;
  if (v === undefined) p.push({ field, message: 'Required value' });
  else if (typeof v !== 'string') p.push({ field, message: 'must be a string' });
  else {
    if (v.length > max) p.push({ field, message: `may not be more than ${max} characters` });
    else if (!re.test(v)) p.push({ field, message });
  }
}

export function oneOf(p: FieldProblem[], spec: Obj, key: string, allowed: readonly string[]): void {
  const v = spec[key];
  if (v !== undefined && !allowed.includes(v as string))
    p.push({ field: `spec.${key}`, message: `must be one of ${allowed.join(', ')}` });
}

export function validateAccounts(accounts: unknown): FieldProblem[] {
  if (accounts === undefined) return [];
  if (!Array.isArray(accounts)) return [{ field: 'spec.accounts', message: 'must be a list of account IDs' }];
  const p: FieldProblem[] = [];
  if (accounts.length > 50)
    p.push({
      field: 'spec.accounts',
      message: `at most 50 accounts (the ECS limit per image), got ${accounts.length}`,
    });
  const seen = new Set<unknown>();
  accounts.forEach((a, i) => {
    const field = `spec.accounts[${i}]`;
    if (typeof a !== 'string') p.push({ field, message: 'must be a string: quote account IDs ("1234567890123456")' });
    else {
      if (a.length > 20) p.push({ field, message: 'may not be more than 20 characters' });
      else if (!ACCOUNT.test(a)) p.push({ field, message: PatternMessage.account });
    }
    if (seen.has(a)) p.push({ field, message: `duplicate value ${JSON.stringify(a)}` });
    seen.add(a);
  });
  return p;
}

/** expiringAccounts as the CRD checks it: {id, expiresAt} entries, unique, not in accounts, not with community. */
export function validateExpiring(entries: unknown, accounts: unknown, community: unknown): FieldProblem[] {
  if (entries === undefined) return [];
  const field = 'spec.expiringAccounts';
  if (!Array.isArray(entries)) return [{ field, message: 'must be a list of {id, expiresAt} entries' }];
  const p: FieldProblem[] = [];
  const plain = new Set(Array.isArray(accounts) ? accounts : []);
  const seen = new Set<unknown>();
  for (const [i, e] of (entries as unknown[]).entries()) {
    const at = `${field}[${i}]`;
    if (!isObj(e)) {
      p.push({ field: at, message: 'must be an object with id and expiresAt' });
      continue;
    }
    unknownFields(p, `${at}.`, e, new Set(['id', 'expiresAt']));
    if (typeof e.id !== 'string' || !ACCOUNT.test(e.id)) p.push({ field: `${at}.id`, message: PatternMessage.account });
    if (typeof e.expiresAt !== 'string' || !RFC3339.test(e.expiresAt) || Number.isNaN(Date.parse(e.expiresAt)))
      p.push({ field: `${at}.expiresAt`, message: 'must be an RFC 3339 time, for example 2026-12-10T00:00:00Z' });
    if (seen.has(e.id)) p.push({ field: at, message: `duplicate id ${JSON.stringify(e.id)}` });
    seen.add(e.id);
  }
  // The CRD's CEL rules, with its sentences (checked against the apiserver by test/integration/validate.test.ts).
  if (entries.some((e: unknown) => isObj(e) && plain.has(e.id))) p.push({ field, message: ExpiringMessage.both });
  if (plain.size + entries.length > 50) p.push({ field, message: ExpiringMessage.tooMany });
  if (community === true && entries.length > 0) p.push({ field, message: ExpiringMessage.community });
  return p;
}

/** accountSetRefs as the CRD checks it: at most 10 {kind, name} entries, each once, not with community. */
function validateAccountSetRefs(refs: unknown, community: unknown): FieldProblem[] {
  if (refs === undefined) return [];
  const field = 'spec.accountSetRefs';
  if (!Array.isArray(refs)) return [{ field, message: 'must be a list of {kind, name} references' }];
  const p: FieldProblem[] = [];
  if (refs.length > 10) p.push({ field, message: `must have at most 10 items, got ${refs.length}` });
  for (const [i, r] of (refs as unknown[]).entries()) {
    const at = `${field}[${i}]`;
    if (!isObj(r)) {
      p.push({ field: at, message: 'must be an object with kind and name' });
      continue;
    }
    unknownFields(p, `${at}.`, r, new Set(['kind', 'name']));
    if (!ACCOUNT_SET_KINDS.includes(r.kind as string))
      p.push({ field: `${at}.kind`, message: `must be one of ${ACCOUNT_SET_KINDS.join(', ')}` });
    if (typeof r.name !== 'string' || r.name.length === 0 || r.name.length > 253)
      p.push({ field: `${at}.name`, message: 'must be the name of an AccountSet or ClusterAccountSet' });
  }
  // The CRD's CEL rules, with its sentences (checked against the apiserver by test/integration/validate.test.ts).
  const named = refs.filter(isObj).map((r) => `${String(r.kind)}/${String(r.name)}`);
  if (new Set(named).size < named.length) p.push({ field, message: AccountSetRefsMessage.twice });
  if (community === true && refs.length > 0) p.push({ field, message: AccountSetRefsMessage.community });
  return p;
}

const ACCOUNT_SET_KINDS: readonly string[] = ['AccountSet', 'ClusterAccountSet'];

export const AccountSetRefsMessage = {
  twice: 'accountSetRefs names the same AccountSet or ClusterAccountSet twice; list each once.',
  community: 'community: true cannot be combined with accountSetRefs',
} as const;

export const ExpiringMessage = {
  both: 'an account is listed both in accounts (shared with no end) and in expiringAccounts (shared until expiresAt); list it in one of them.',
  tooMany: 'accounts and expiringAccounts together name more than 50 accounts, the ECS limit per image.',
  community: 'community: true cannot be combined with expiringAccounts',
} as const;

/** RFC 3339 date-time as the apiserver's `format: date-time` accepts it. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function validateCredentials(c: unknown): FieldProblem[] {
  if (!isObj(c)) return [{ field: 'spec.credentials', message: 'must be an object' }];
  const p: FieldProblem[] = [];
  unknownFields(p, 'spec.credentials.', c, new Set(['secretRef', 'roleArn']));
  if (c.secretRef !== undefined && c.roleArn !== undefined) {
    p.push({
      field: 'spec.credentials',
      message: 'credentials.secretRef and credentials.roleArn are mutually exclusive: set exactly one of them.',
    });
  } else if (c.secretRef === undefined && c.roleArn === undefined) {
    p.push({
      field: 'spec.credentials',
      message:
        "credentials must set exactly one of secretRef or roleArn; omit credentials to use the operator's own identity.",
    });
  }
  if (c.secretRef !== undefined) p.push(...validateSecretRef(c.secretRef));
  if (c.roleArn !== undefined) p.push(...validateRoleArn(c.roleArn));
  return p;
}

function validateRoleArn(arn: unknown): FieldProblem[] {
  const field = 'spec.credentials.roleArn';
  if (typeof arn !== 'string') return [{ field, message: 'must be a string' }];
  const p: FieldProblem[] = [];
  if (arn.length > 512) p.push({ field, message: 'may not be more than 512 characters' });
  else if (!ROLE_ARN.test(arn)) p.push({ field, message: PatternMessage.roleArn });
  return p;
}

function validateSecretRef(ref: unknown): FieldProblem[] {
  if (!isObj(ref)) return [{ field: 'spec.credentials.secretRef', message: 'must be an object' }];
  const p: FieldProblem[] = [];
  unknownFields(p, 'spec.credentials.secretRef.', ref, new Set(['name']));
  const field = 'spec.credentials.secretRef.name';
  if (ref.name === undefined) p.push({ field, message: 'Required value' });
  else if (typeof ref.name !== 'string') p.push({ field, message: 'must be a string' });
  else {
    if (ref.name.length < 1) p.push({ field, message: 'must be at least 1 character' });
    if (ref.name.length > 253) p.push({ field, message: 'may not be more than 253 characters' });
    else if (!DNS_SUBDOMAIN.test(ref.name)) p.push({ field, message: PatternMessage.secretName });
  }
  return p;
}

export function validateResync(v: unknown): FieldProblem[] {
  const field = 'spec.resyncInterval';
  if (typeof v !== 'string') return [{ field, message: 'must be a string' }];
  if (!DURATION.test(v)) return [{ field, message: PatternMessage.resyncInterval }];
  let ns = 0;
  for (const m of v.matchAll(/([0-9]+(?:[.][0-9]+)?)(ns|us|µs|ms|s|m|h)/g))
    ns += Number(m[1]) * (UNIT_NS[m[2] ?? ''] ?? 0);
  if (ns < 60e9 || ns > 86_400e9) return [{ field, message: `resyncInterval must be between 1m and 24h, got ${v}` }];
  return [];
}
