// Offline validation of ImageShare manifests with the same rules the CRD enforces at admission (schema patterns,
// enums, limits and CEL rules), so a pull request can be checked without a cluster. test/integration/validate.test.ts
// keeps the two in agreement by sending the same manifests to a real kube-apiserver.
import { API_VERSION, DeletionPolicy, KIND, Mode, SharePolicy, SPEC_FIELDS } from './types.ts';

const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const IMAGE = /^m-[a-z0-9]{8,40}$/;
const ACCOUNT = /^[1-9][0-9]{0,19}$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ROLE_ARN = /^acs:ram::[0-9]+:role\/.+$/;
const DURATION = /^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every problem with `doc` as an ImageShare, as "field: what is wrong" sentences; empty when it is valid. */
export function validateImageShare(doc: unknown): string[] {
  if (!isObj(doc)) return ['the document is not an object'];
  const problems: string[] = [];
  if (doc.apiVersion !== API_VERSION) problems.push(`apiVersion: must be ${API_VERSION}`);
  if (doc.kind !== KIND) problems.push(`kind: must be ${KIND}`);
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  if (typeof meta.name !== 'string' || !DNS_SUBDOMAIN.test(meta.name) || meta.name.length > 253) {
    problems.push('metadata.name: must be a lowercase DNS subdomain name');
  }
  if (!isObj(doc.spec)) return [...problems, 'spec: Required value'];
  return [...problems, ...validateSpec(doc.spec)];
}

function validateSpec(spec: Obj): string[] {
  const p: string[] = [];
  for (const key of Object.keys(spec)) if (!(key in SPEC_FIELDS)) p.push(`spec.${key}: unknown field`);
  requiredPattern(p, spec, 'regionId', REGION, 64);
  requiredPattern(p, spec, 'imageId', IMAGE, 42);
  p.push(...validateAccounts(spec.accounts));
  for (const key of ['community', 'suspend'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'boolean') p.push(`spec.${key}: must be true or false`);
  }
  oneOf(p, spec, 'sharePolicy', Object.values(SharePolicy));
  oneOf(p, spec, 'deletionPolicy', Object.values(DeletionPolicy));
  oneOf(p, spec, 'mode', Object.values(Mode));
  if (spec.community === true && Array.isArray(spec.accounts) && spec.accounts.length > 0) {
    p.push(
      `spec: community: true cannot be combined with accounts: a community image is already visible to every account in ${String(spec.regionId)}, and ECS refuses to share it with specific accounts`,
    );
  }
  if (spec.credentials !== undefined) p.push(...validateCredentials(spec.credentials));
  if (spec.resyncInterval !== undefined) p.push(...validateResync(spec.resyncInterval));
  return p;
}

function requiredPattern(p: string[], spec: Obj, key: string, re: RegExp, max: number): void {
  const v = spec[key];
  if (v === undefined) p.push(`spec.${key}: Required value`);
  else if (typeof v !== 'string' || v.length > max || !re.test(v)) p.push(`spec.${key}: "${String(v)}" should match '${re.source}'`);
}

function oneOf(p: string[], spec: Obj, key: string, allowed: readonly string[]): void {
  const v = spec[key];
  if (v !== undefined && !allowed.includes(v as string)) p.push(`spec.${key}: must be one of ${allowed.join(', ')}`);
}

function validateAccounts(accounts: unknown): string[] {
  if (accounts === undefined) return [];
  if (!Array.isArray(accounts)) return ['spec.accounts: must be a list of account IDs'];
  const p: string[] = [];
  if (accounts.length > 50) p.push(`spec.accounts: at most 50 accounts, got ${accounts.length}`);
  const seen = new Set<unknown>();
  accounts.forEach((a, i) => {
    if (typeof a !== 'string' || !ACCOUNT.test(a)) p.push(`spec.accounts[${i}]: "${String(a)}" is not an account ID (digits, no leading zero)`);
    if (seen.has(a)) p.push(`spec.accounts[${i}]: duplicate value "${String(a)}"`);
    seen.add(a);
  });
  return p;
}

function validateCredentials(c: unknown): string[] {
  if (!isObj(c)) return ['spec.credentials: must be an object'];
  const p: string[] = [];
  if ((c.secretRef !== undefined) === (c.roleArn !== undefined)) p.push('spec.credentials: set exactly one of secretRef and roleArn');
  if (c.secretRef !== undefined) {
    const name = isObj(c.secretRef) ? c.secretRef.name : undefined;
    if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name)) p.push('spec.credentials.secretRef.name: must be a Secret name');
  }
  if (c.roleArn !== undefined && (typeof c.roleArn !== 'string' || !ROLE_ARN.test(c.roleArn))) {
    p.push(`spec.credentials.roleArn: should match '${ROLE_ARN.source}'`);
  }
  return p;
}

function validateResync(v: unknown): string[] {
  if (typeof v !== 'string' || !DURATION.test(v)) return [`spec.resyncInterval: "${String(v)}" is not a duration like 10m or 1h30m`];
  let ns = 0;
  for (const m of v.matchAll(/([0-9]+(?:[.][0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) ns += Number(m[1]) * (UNIT_NS[m[2] ?? ''] ?? 0);
  if (ns < 60e9 || ns > 86_400e9) return [`spec.resyncInterval: must be between 1m and 24h, got ${v}`];
  return [];
}
