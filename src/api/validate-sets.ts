// Offline validation of ImageShareSet, AccountSet and ClusterAccountSet manifests with the rules of
// crds/imageshareset.yaml, crds/accountset.yaml and crds/clusteraccountset.yaml (schema and CEL), as validate.ts does
// for ImageShare. test/integration/validate.test.ts keeps both in agreement with a real kube-apiserver.
import { ACCOUNT_SET_KIND, CLUSTER_ACCOUNT_SET_KIND, SET_KIND } from '../fleet/types.ts';
import { API_VERSION, DeletionPolicy, Mode, SharePolicy } from './types.ts';
import {
  type FieldProblem,
  isObj,
  oneOf,
  PatternMessage,
  templateAccess,
  templatePolicies,
  templateRecipients,
  unknownFields,
  validateAccounts,
  validateMetadata,
} from './validate.ts';

export const FLEET_KINDS = [SET_KIND, ACCOUNT_SET_KIND, CLUSTER_ACCOUNT_SET_KIND] as const;
export type FleetKind = (typeof FLEET_KINDS)[number];

type Obj = Record<string, unknown>;
const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const ACCOUNT = /^[1-9][0-9]{0,19}$/;
const DURATION = /^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** The worded messages of crds/imageshareset.yaml's CEL rules (folded to one line), as the apiserver prints them. */
export const SetMessage = {
  name: 'an ImageShareSet name is at most 40 characters, so that each child ImageShare',
  selector: 'selector needs at least one of imageFamily, tags or namePrefix',
  region: 'a region must be an Alibaba Cloud region ID',
  keep: 'keep must set exactly one of latest: N or all: true',
  discoveryRange: 'discoveryInterval must be between 10s and 24h',
  communityAccounts: 'community: true cannot be combined with a non-empty accounts list',
  communityRefs: 'community: true cannot be combined with accountSetRefs',
} as const;

const SPEC_FIELDS = new Set([
  'selector',
  'regions',
  'keep',
  'maxChildren',
  'discoveryInterval',
  'accounts',
  'expiringAccounts',
  'accountSetRefs',
  'community',
  'sharePolicy',
  'deletionPolicy',
  'mode',
  'suspend',
  'credentials',
  'resyncInterval',
]);
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/**
 * Which fleet kind `doc` is meant to be: the exact kind, or one that differs only in case (then validated, and the
 * kind reported). Undefined for everything else, ImageShare included.
 */
export function fleetKindOf(doc: unknown): FleetKind | undefined {
  if (!isObj(doc) || typeof doc.kind !== 'string') return undefined;
  const kind = doc.kind.toLowerCase();
  return FLEET_KINDS.find((k) => k.toLowerCase() === kind);
}

/** Every problem with `doc` as the fleet kind `kind`, with the apiserver's field paths; empty when it is valid. */
export function validateFleetFields(kind: FleetKind, doc: unknown): FieldProblem[] {
  if (!isObj(doc)) return [{ field: '', message: 'the document is not an object' }];
  const p: FieldProblem[] = [];
  if (doc.apiVersion !== API_VERSION)
    p.push({ field: 'apiVersion', message: `must be ${API_VERSION}, got ${JSON.stringify(doc.apiVersion ?? null)}` });
  if (doc.kind !== kind)
    p.push({ field: 'kind', message: `must be ${kind} (kinds are case-sensitive), got ${JSON.stringify(doc.kind)}` });
  unknownFields(p, '', doc, ROOT_FIELDS);
  p.push(...validateMetadata(doc.metadata));
  const name = isObj(doc.metadata) ? doc.metadata.name : undefined;
  if (kind === SET_KIND && typeof name === 'string' && name.length > 40)
    p.push({ field: '', message: `${SetMessage.name}'s name (<set>-<region>-<imageId>) stays a valid object name` });
  if (doc.spec === undefined) p.push({ field: 'spec', message: 'Required value' });
  else if (!isObj(doc.spec)) p.push({ field: 'spec', message: 'must be an object' });
  else p.push(...(kind === SET_KIND ? validateSetSpec(doc.spec) : validateAccountSetSpec(doc.spec)));
  return p;
}

function validateSetSpec(spec: Obj): FieldProblem[] {
  const p: FieldProblem[] = [];
  unknownFields(p, 'spec.', spec, SPEC_FIELDS);
  p.push(...validateSelector(spec.selector));
  p.push(...validateRegions(spec.regions));
  if (spec.keep !== undefined) p.push(...validateKeep(spec.keep));
  integer(p, spec, 'spec.maxChildren', 1, 1000);
  if (spec.discoveryInterval !== undefined) p.push(...validateDiscovery(spec.discoveryInterval));
  templateRecipients(p, spec);
  p.push(...validateRefs(spec.accountSetRefs));
  templatePolicies(p, spec);
  if (spec.community === true && Array.isArray(spec.accounts) && spec.accounts.length > 0)
    p.push({
      field: 'spec.accounts',
      message: `${SetMessage.communityAccounts}: a community image is already visible to every account in its region`,
    });
  if (spec.community === true && Array.isArray(spec.accountSetRefs) && spec.accountSetRefs.length > 0)
    p.push({
      field: 'spec.accountSetRefs',
      message: `${SetMessage.communityRefs}: a community image is already visible to every account in its region`,
    });
  templateAccess(p, spec);
  return p;
}

function validateSelector(selector: unknown): FieldProblem[] {
  const field = 'spec.selector';
  if (selector === undefined) return [{ field, message: 'Required value' }];
  if (!isObj(selector)) return [{ field, message: 'must be an object' }];
  const p: FieldProblem[] = [];
  unknownFields(p, `${field}.`, selector, new Set(['imageFamily', 'tags', 'namePrefix']));
  for (const key of ['imageFamily', 'namePrefix'] as const) shortString(p, selector[key], `${field}.${key}`, 128);
  const tags = selector.tags;
  if (tags !== undefined && !isObj(tags)) p.push({ field: `${field}.tags`, message: 'must be a map of tag to value' });
  else if (tags !== undefined) {
    if (Object.keys(tags).length > 20)
      p.push({ field: `${field}.tags`, message: 'at most 20 tags (the ECS limit of a DescribeImages filter)' });
    for (const [k, v] of Object.entries(tags)) shortString(p, v, `${field}.tags.${k}`, 128);
  }
  const set = (v: unknown) => typeof v === 'string' && v !== '';
  const anyTag = isObj(tags) && Object.keys(tags).length > 0;
  if (!set(selector.imageFamily) && !anyTag && !set(selector.namePrefix))
    p.push({
      field,
      message: `${SetMessage.selector}: an empty selector would select every image the credentials own`,
    });
  return p;
}

function validateRegions(regions: unknown): FieldProblem[] {
  const field = 'spec.regions';
  if (regions === undefined) return [{ field, message: 'Required value' }];
  if (!Array.isArray(regions)) return [{ field, message: 'must be a list of region IDs' }];
  const p: FieldProblem[] = [];
  if (regions.length < 1) p.push({ field, message: 'at least one region' });
  if (regions.length > 30) p.push({ field, message: `at most 30 regions, got ${regions.length}` });
  const seen = new Set<unknown>();
  regions.forEach((r, i) => {
    const at = `${field}[${i}]`;
    if (typeof r !== 'string') p.push({ field: at, message: 'must be a string' });
    else if (r.length > 64) p.push({ field: at, message: 'may not be more than 64 characters' });
    else if (!REGION.test(r))
      p.push({ field: at, message: `${SetMessage.region}: ${PatternMessage.regionId.split(': ')[1]}` });
    if (seen.has(r)) p.push({ field: at, message: `duplicate value ${JSON.stringify(r)}` });
    seen.add(r);
  });
  return p;
}

function validateKeep(keep: unknown): FieldProblem[] {
  const field = 'spec.keep';
  if (!isObj(keep)) return [{ field, message: 'must be an object: latest: N or all: true' }];
  const p: FieldProblem[] = [];
  unknownFields(p, `${field}.`, keep, new Set(['latest', 'all']));
  integer(p, keep, `${field}.latest`, 1, 100);
  if (keep.all !== undefined && typeof keep.all !== 'boolean')
    p.push({ field: `${field}.all`, message: 'must be true or false' });
  if ((keep.latest !== undefined) === (keep.all === true)) p.push({ field, message: SetMessage.keep });
  return p;
}

function validateDiscovery(v: unknown): FieldProblem[] {
  const field = 'spec.discoveryInterval';
  if (typeof v !== 'string') return [{ field, message: 'must be a string' }];
  if (v.length > 32) return [{ field, message: 'may not be more than 32 characters' }];
  if (!DURATION.test(v))
    return [{ field, message: 'discoveryInterval must be a Go duration such as 3m or 1h (units ns, us, ms, s, m, h)' }];
  let ns = 0;
  for (const m of v.matchAll(/([0-9]+(?:[.][0-9]+)?)(ns|us|µs|ms|s|m|h)/g))
    ns += Number(m[1]) * (UNIT_NS[m[2] ?? ''] ?? 0);
  if (ns < 10e9 || ns > 86_400e9) return [{ field, message: `${SetMessage.discoveryRange}, got ${v}` }];
  return [];
}

function validateRefs(refs: unknown): FieldProblem[] {
  const field = 'spec.accountSetRefs';
  if (refs === undefined) return [];
  if (!Array.isArray(refs)) return [{ field, message: 'must be a list of {kind, name} references' }];
  const p: FieldProblem[] = [];
  if (refs.length > 10) p.push({ field, message: `at most 10 account set references, got ${refs.length}` });
  refs.forEach((r: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObj(r)) {
      p.push({ field: at, message: 'must be an object with kind and name' });
      return;
    }
    unknownFields(p, `${at}.`, r, new Set(['kind', 'name']));
    if (r.kind === undefined) p.push({ field: `${at}.kind`, message: 'Required value' });
    else if (r.kind !== ACCOUNT_SET_KIND && r.kind !== CLUSTER_ACCOUNT_SET_KIND)
      p.push({ field: `${at}.kind`, message: `must be one of ${ACCOUNT_SET_KIND}, ${CLUSTER_ACCOUNT_SET_KIND}` });
    if (r.name === undefined) p.push({ field: `${at}.name`, message: 'Required value' });
    else if (typeof r.name !== 'string') p.push({ field: `${at}.name`, message: 'must be a string' });
    else if (r.name.length < 1) p.push({ field: `${at}.name`, message: 'must be at least 1 character' });
    else if (r.name.length > 253) p.push({ field: `${at}.name`, message: 'may not be more than 253 characters' });
  });
  return p;
}

function validateAccountSetSpec(spec: Obj): FieldProblem[] {
  const p: FieldProblem[] = [];
  unknownFields(p, 'spec.', spec, new Set(['accounts']));
  const field = 'spec.accounts';
  const accounts = spec.accounts;
  if (accounts === undefined) return [...p, { field, message: 'Required value' }];
  if (!Array.isArray(accounts)) return [...p, { field, message: 'must be a list of {id, description} entries' }];
  if (accounts.length > 50)
    p.push({ field, message: `at most 50 accounts (the ECS limit per image), got ${accounts.length}` });
  const seen = new Set<unknown>();
  accounts.forEach((a: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObj(a)) {
      p.push({ field: at, message: 'must be an object with id (and optionally description)' });
      return;
    }
    unknownFields(p, `${at}.`, a, new Set(['id', 'description']));
    if (a.id === undefined) p.push({ field: `${at}.id`, message: 'Required value' });
    else if (typeof a.id !== 'string')
      p.push({ field: `${at}.id`, message: 'must be a string: quote account IDs ("1234567890123456")' });
    else if (a.id.length > 20) p.push({ field: `${at}.id`, message: 'may not be more than 20 characters' });
    else if (!ACCOUNT.test(a.id)) p.push({ field: `${at}.id`, message: PatternMessage.account });
    shortString(p, a.description, `${at}.description`, 256);
    if (a.id !== undefined && seen.has(a.id)) p.push({ field: at, message: `duplicate id ${JSON.stringify(a.id)}` });
    seen.add(a.id);
  });
  return p;
}

function shortString(p: FieldProblem[], v: unknown, field: string, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'string') p.push({ field, message: 'must be a string' });
  else if (v.length > max) p.push({ field, message: `may not be more than ${max} characters` });
}

function integer(p: FieldProblem[], obj: Obj, field: string, min: number, max: number): void {
  const v = obj[field.slice(field.lastIndexOf('.') + 1)];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) p.push({ field, message: 'must be a whole number' });
  else if (v < min || v > max) p.push({ field, message: `must be between ${min} and ${max}, got ${v}` });
}
