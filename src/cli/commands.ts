// `imageshare-operator validate` and `imageshare-operator plan`: the checks a GitOps pull request wants before merge.
// validate applies the CRD's rules offline; plan reads the cloud (and with --kubeconfig the live objects) and prints
// exactly what Apply would write, using the same planner as the controller. Exit codes: 0 fine, 1 invalid manifest
// or cloud error, 2 usage error; `plan --detailed-exitcode` is terraform's: 0 no changes, 1 error, 2 changes.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { ImageShare } from '../api/types.ts';
import { type FieldProblem, formatProblem, looksLikeImageShare, validateImageShareFields } from '../api/validate.ts';
import { fleetKindOf, validateFleetFields } from '../api/validate-sets.ts';
import { classify } from '../cloud/ecs-errors.ts';
import { createEcsImageSharingFactory } from '../cloud/ecs-factory.ts';
import { FLAGS } from '../config.ts';
import type { CloudCredentials, ImageSharingFactory } from '../cloud/port.ts';
import { describePlan } from '../reconcile/compute-status.ts';
import { connect } from '../reconcile/connect.ts';
import { asOf } from '../reconcile/expiry.ts';
import { parseDuration } from '../reconcile/duration.ts';
import { planInputFor, planShares, planStatus } from '../reconcile/plan-shares.ts';
import { type Tenancy, TenancyMode } from '../policy/evaluate.ts';
import { type DuplicateClaim, duplicateMessage, findDuplicateClaims } from './duplicates.ts';
import type { AccountSet, ImageShareSet } from '../fleet/types.ts';
import { type LiveCluster, type LiveObject, liveCluster } from './live.ts';
import { planSet, renderSetText, type SetPlanResult, setHasChanges } from './plan-sets.ts';
import { adoptionSentence, hasChanges, renderMarkdown } from './plan-markdown.ts';
import { type PolicyWorld, policyProblems, policyWorld } from './policy-check.ts';

export const CLI_COMMANDS = ['validate', 'plan'] as const;
export const OutputFormat = { Text: 'text', Json: 'json', Markdown: 'markdown' } as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];
const OUTPUTS: Record<string, readonly OutputFormat[]> = {
  validate: ['text', 'json'],
  plan: ['text', 'json', 'markdown'],
};

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Overrides the cloud for tests; default: the real SDK with the flags' endpoint. */
  cloud?: ImageSharingFactory;
  /** Where the --ecs-* defaults come from (the operator's env vars, e.g. IMAGESHARE_ECS_ENDPOINT); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Overrides how --kubeconfig is read (tests); default: liveCluster(path). */
  cluster?: (kubeconfig: string) => LiveCluster;
}

export function isCliCommand(argv: readonly string[]): boolean {
  return (CLI_COMMANDS as readonly string[]).includes(argv[0] ?? '');
}

const USAGE = `Usage:
  imageshare-operator validate -f <file|dir|-> [-f ...] [--output text|json]
                               [--policy <file|dir> ...] [--tenancy-mode open|restricted] [--trusted-namespaces a,b]
      Checks every ImageShare in the manifests against the CRD's rules, offline, and reports two manifests that
      claim the same (regionId, imageId), naming both files and the owner the controller would pick. A document
      whose kind is a misspelling of ImageShare, or whose apiVersion is in ecs.alicloud.dev, is checked too.
      A directory is read recursively (*.yaml and *.yml; directories starting with "." are skipped).
      --policy also judges each ImageShare by the ImageSharePolicies in those files (and the labels of the Namespace
      objects there; a namespace not described has only kubernetes.io/metadata.name), as admission and the
      controller do. --tenancy-mode restricted adds the chart's baseline: only --trusted-namespaces may use the
      operator's identity or a roleArn (default open: no baseline). See docs/tenancy.md.
      ImageShareSet, AccountSet and ClusterAccountSet manifests are checked against their CRDs' rules too.
      Exit 1 if any is invalid.
  imageshare-operator plan -f <file|dir|-> [-f ...] [--kubeconfig <file>] [--detailed-exitcode]
                           [--ecs-endpoint host:port] [--ecs-protocol https|http] [--ecs-timeout 10s]
                           [--output text|json|markdown]
      Validates, then reads each image's share list from ECS and prints the writes Apply would make, in order.
      An ImageShareSet is planned as its controller would: each region's own images are listed (DescribeImages,
      ImageOwnerAlias=self, every page), the selector and keep window applied, and the children Apply would create,
      keep, set back and delete are printed with the accounts each shares with (inline accounts plus the AccountSets
      and ClusterAccountSets found in the same -f files; a reference not found there is named and left out). Without
      --kubeconfig the set is planned as new; with it, the set's live children are read so kept and deleted ones show.
      --output markdown prints a table for a pull-request comment.
      --kubeconfig reads each object from the cluster (read-only): its status.managedAccounts, so Additive revokes
      and what this object granted are known, and its credentials.secretRef Secret where RBAC allows. Without it
      plan is offline: a secretRef is planned with the default identity (the output says so), and Additive revokes
      are not shown. KUBECONFIG alone does not turn this on.
      An Authoritative object that would revoke accounts it did not grant (shares made outside Git) says so:
      "adopting: will revoke ..., shared outside Git". Adopt with mode: Plan first, or sharePolicy: Additive.
      --detailed-exitcode: exit 0 when nothing would change, 2 when something would (or is blocked), 1 on any
      error, usage errors included.
      The --ecs-* flags default to the operator's IMAGESHARE_ECS_ENDPOINT, _PROTOCOL and _TIMEOUT variables.
      Credentials: the @alicloud/credentials default chain (e.g. ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET), or the
      object's credentials.roleArn assumed from it, or (with --kubeconfig) its secretRef Secret.
`;

interface Found {
  source: string;
  doc: unknown;
}

/** The verdict on one manifest, as `validate --output json` prints it. */
export interface ValidationResult {
  object: string;
  source: string;
  valid: boolean;
  problems: FieldProblem[];
}

type Values = Record<string, string | string[] | boolean | undefined>;

/** Parses the flags; a string is the usage error to print, undefined means --help was printed (exit 0). */
function parseFlags(command: string, rest: readonly string[], io: CliIo): Values | string | undefined {
  const env = io.env ?? process.env;
  const fromEnv = (flag: 'ecs-protocol' | 'ecs-timeout') => env[FLAGS[flag].env] || FLAGS[flag].def;
  const common = {
    file: { type: 'string', short: 'f', multiple: true },
    output: { type: 'string', default: 'text' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  // validate --policy: the tenancy rules offline (src/cli/policy-check.ts).
  const validateOnly = {
    policy: { type: 'string', multiple: true },
    'tenancy-mode': { type: 'string', default: TenancyMode.Open },
    'trusted-namespaces': { type: 'string', default: '' },
  } as const;
  const planOnly = {
    kubeconfig: { type: 'string' },
    'detailed-exitcode': { type: 'boolean' },
    'ecs-endpoint': {
      type: 'string',
      ...(env[FLAGS['ecs-endpoint'].env] ? { default: env[FLAGS['ecs-endpoint'].env] } : {}),
    },
    'ecs-protocol': { type: 'string', default: fromEnv('ecs-protocol') },
    'ecs-timeout': { type: 'string', default: fromEnv('ecs-timeout') },
  } as const;
  let values: Values;
  try {
    const options: ParseArgsOptionsConfig =
      command === 'plan' ? { ...common, ...planOnly } : { ...common, ...validateOnly };
    ({ values } = parseArgs({ args: [...rest], options }) as { values: Values });
  } catch (err: unknown) {
    return err instanceof Error ? err.message : String(err);
  }
  if (values.help) {
    io.out(USAGE);
    return undefined;
  }
  const allowed = OUTPUTS[command] ?? [];
  if (!allowed.includes(String(values.output) as OutputFormat))
    return `${command}: --output must be one of ${allowed.join(', ')}, got ${String(values.output)}`;
  const modeProblem = tenancyModeProblem(command, values);
  if (modeProblem !== undefined) return modeProblem;
  if (((values.file as string[] | undefined) ?? []).length === 0)
    return `${command}: give at least one -f <file|dir|->`;
  return values;
}

/** validate --tenancy-mode takes the operator's modes. */
function tenancyModeProblem(command: string, values: Values): string | undefined {
  const mode = values['tenancy-mode'];
  if (mode === undefined || (Object.values(TenancyMode) as unknown[]).includes(mode)) return undefined;
  return `${command}: --tenancy-mode must be one of ${Object.values(TenancyMode).join(', ')}, got ${String(mode)}`;
}

/** Runs a CLI command and resolves its exit code. Never throws for user errors. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command = '', ...rest] = argv;
  const values = parseFlags(command, rest, io);
  if (values === undefined) return 0;
  if (typeof values === 'string') {
    io.err(`${values}\n\n${USAGE}`);
    // With --detailed-exitcode, 2 means "changes", so a usage error is an error like any other (terraform does so).
    return command === 'plan' && rest.includes('--detailed-exitcode') ? 1 : 2;
  }
  const output = String(values.output) as OutputFormat;
  const files = values.file as string[];
  let found: Found[];
  try {
    found = (await Promise.all(files.map(readManifests)))
      .flat()
      .filter((f) => looksLikeImageShare(f.doc) || fleetKindOf(f.doc) !== undefined);
  } catch (err: unknown) {
    io.err(`${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (found.length === 0) {
    io.err(`${command}: no ImageShare, ImageShareSet or account set objects found in ${files.join(', ')}\n`);
    return 1;
  }
  const results = await withPolicies(found, validateAll(found), values, io);
  if (results === undefined) return 1;
  const invalid = results.filter((r) => !r.valid).length;
  if (command === 'validate') {
    reportValidation(results, { duplicates: findDuplicateClaims(claimSources(found)), output, verbose: true }, io);
    return invalid > 0 ? 1 : 0;
  }
  if (invalid > 0) {
    reportValidation(results, { duplicates: [], output: OutputFormat.Text, verbose: false }, io);
    return 1;
  }
  return plan(found, values, io);
}

/** With --policy, adds each object's tenancy problem; undefined when a policy file cannot be read (reported). */
async function withPolicies(
  found: readonly Found[],
  results: readonly ValidationResult[],
  values: Values,
  io: CliIo,
): Promise<ValidationResult[] | undefined> {
  if (values.policy === undefined) return [...results];
  let world: PolicyWorld;
  try {
    world = policyWorld((await Promise.all((values.policy as string[]).map(readManifests))).flat());
  } catch (err: unknown) {
    io.err(`validate: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  }
  const tenancy: Tenancy = {
    mode: values['tenancy-mode'] as TenancyMode,
    trustedNamespaces: String(values['trusted-namespaces'])
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  };
  return results.map((r, i) => {
    // ImageSharePolicies judge ImageShares (a set's children are judged when the controller creates them).
    const doc = found[i]?.doc;
    const judged = fleetKindOf(doc) === undefined ? policyProblems(doc as ImageShare, world, tenancy) : [];
    const problems = [...r.problems, ...judged];
    return { ...r, valid: problems.length === 0, problems };
  });
}

function claimSources(found: readonly Found[]): Array<{ object: string; source: string; doc: unknown }> {
  return found
    .filter((f) => fleetKindOf(f.doc) === undefined)
    .map((f) => ({ object: nameOf(f.doc as ImageShare), source: f.source, doc: f.doc }));
}

/** Each manifest's own problems plus, for every manifest that would lose a duplicate claim, that claim. */
export function validateAll(found: readonly Found[]): ValidationResult[] {
  const duplicates = findDuplicateClaims(claimSources(found));
  return found.map(({ source, doc }) => {
    const object = nameOf(doc as ImageShare);
    const kind = fleetKindOf(doc);
    const problems =
      kind === undefined
        ? [...validateImageShareFields(doc), ...duplicateProblems(object, source, duplicates)]
        : validateFleetFields(kind, doc);
    return { object, source, valid: problems.length === 0, problems };
  });
}

function duplicateProblems(object: string, source: string, duplicates: readonly DuplicateClaim[]): FieldProblem[] {
  return duplicates
    .filter((d) => d.others.some((o) => o.object === object && o.source === source))
    .map((d) => ({ field: 'spec.imageId', message: duplicateMessage(d) }));
}

interface ReportOptions {
  duplicates: readonly DuplicateClaim[];
  output: OutputFormat;
  /** Also list the valid objects (validate does; plan only reports what stops it). */
  verbose: boolean;
}

function reportValidation(
  results: readonly ValidationResult[],
  { duplicates, output, verbose }: ReportOptions,
  io: CliIo,
): void {
  const invalid = results.filter((r) => !r.valid).length;
  if (output === OutputFormat.Json) {
    io.out(
      `${JSON.stringify({ objects: results, duplicates, summary: { valid: results.length - invalid, invalid } }, null, 2)}\n`,
    );
    return;
  }
  for (const r of results) {
    if (!r.valid) io.out(`✗ ${r.object} (${r.source})\n${r.problems.map((p) => `    ${formatProblem(p)}\n`).join('')}`);
    else if (verbose) io.out(`✓ ${r.object} (${r.source})\n`);
  }
  io.out(`${results.length - invalid} valid, ${invalid} invalid\n`);
}

/** Plans every ImageShare and ImageShareSet; the account sets in the files only resolve the sets' references. */
async function plan(found: readonly Found[], values: Record<string, unknown>, io: CliIo): Promise<number> {
  const cloud = io.cloud ?? cloudFromFlags(values);
  const cluster = openCluster(values.kubeconfig as string | undefined, io);
  if (cluster === null) return 1;
  const results = await planAll(found, cloud, cluster);
  if (values.output === OutputFormat.Json) io.out(`${JSON.stringify(results, null, 2)}\n`);
  else if (values.output === OutputFormat.Markdown) io.out(renderMarkdown(results));
  else for (const r of results) io.out(isSetPlan(r) ? renderSetText(r) : renderText(r));
  if (results.some((r) => r.error)) return 1;
  const changes = results.some((r) => (isSetPlan(r) ? setHasChanges(r) : hasChanges(r)));
  return values['detailed-exitcode'] === true && changes ? 2 : 0;
}

const isSetPlan = (r: PlanResult | SetPlanResult): r is SetPlanResult => r.kind === 'ImageShareSet';

async function planAll(
  found: readonly Found[],
  cloud: ImageSharingFactory,
  cluster: LiveCluster | undefined,
): Promise<Array<PlanResult | SetPlanResult>> {
  const accountSets = found.flatMap((f) => {
    const kind = fleetKindOf(f.doc);
    return kind === 'AccountSet' || kind === 'ClusterAccountSet' ? [f.doc as AccountSet] : [];
  });
  const results: Array<PlanResult | SetPlanResult> = [];
  for (const { doc } of found) {
    const kind = fleetKindOf(doc);
    if (kind === undefined) results.push(await planOne(doc as ImageShare, cloud, cluster));
    else if (kind === 'ImageShareSet')
      results.push(await planOneSet(doc as ImageShareSet, accountSets, cloud, cluster));
  }
  return results;
}

/** A set's plan: its identity as the controller would connect, and with --kubeconfig its live uid and children. */
async function planOneSet(
  manifest: ImageShareSet,
  accountSets: readonly AccountSet[],
  cloud: ImageSharingFactory,
  cluster: LiveCluster | undefined,
): Promise<SetPlanResult> {
  const set =
    cluster === undefined || manifest.metadata.namespace
      ? manifest
      : { ...manifest, metadata: { ...manifest.metadata, namespace: cluster.defaultNamespace } };
  const live = cluster === undefined ? undefined : await cluster.readSet(set);
  const identity = await identityFor(set as unknown as ImageShare, live);
  return planSet({ set, accountSets, cloud, identity, ...(live === undefined ? {} : { live }) });
}

/** The cluster behind --kubeconfig; undefined without the flag, null (reported) when it cannot be loaded. */
function openCluster(kubeconfig: string | undefined, io: CliIo): LiveCluster | undefined | null {
  if (kubeconfig === undefined) return undefined;
  try {
    return (io.cluster ?? liveCluster)(kubeconfig);
  } catch (err: unknown) {
    io.err(`plan: cannot use --kubeconfig ${kubeconfig}: ${err instanceof Error ? err.message : String(err)}\n`);
    return null;
  }
}

/** One object's plan as `plan --output json` prints it (PlanRow in plan-markdown.ts reads the same fields). */
type PlanResult = Record<string, unknown> & { error?: unknown };

/** Observes one object's image and plans it with the controller's planner, against the live object when known. */
async function planOne(manifest: ImageShare, cloud: ImageSharingFactory, cluster?: LiveCluster): Promise<PlanResult> {
  const obj =
    cluster === undefined || manifest.metadata?.namespace
      ? manifest
      : { ...manifest, metadata: { ...manifest.metadata, namespace: cluster.defaultNamespace } };
  const live: LiveObject | undefined = cluster === undefined ? undefined : await cluster.read(obj);
  const { credentials, identity, note } = await identityFor(obj, live);
  const base = { object: nameOf(obj), identity, ...(note ? { note } : {}), live: live?.state ?? 'not read' };
  try {
    const seen = await cloud
      .forCredentials(credentials)
      .observe({ regionId: obj.spec.regionId, imageId: obj.spec.imageId });
    const managed = live?.managedAccounts ?? [];
    const p = planShares(planInputFor(asOf(obj, new Date()).spec, seen, managed));
    // Adoption: revokes of shares this object never made (by hand, or by a tool before Git managed the image).
    const adopting =
      (obj.spec.sharePolicy ?? 'Authoritative') === 'Authoritative' ? p.revoke.filter((a) => !managed.includes(a)) : [];
    return {
      ...base,
      shared: seen.sharedAccounts.length,
      community: seen.community,
      plan: planStatus(p),
      operations: p.operations,
      blockers: p.blockers.map(({ reason, message }) => ({ reason, message })),
      adopting,
      managedAccounts: managed,
    };
  } catch (err: unknown) {
    const e = classify(err);
    return { ...base, error: { reason: e.reason, message: e.message } };
  }
}

/**
 * Whose identity reads the cloud: the controller's `connect` step, with the Secret the cluster gave (if any). Where
 * the controller would block (no Secret readable), the plan uses the default identity and says so.
 */
async function identityFor(
  obj: ImageShare,
  live: Pick<LiveObject, 'credentials'> | undefined,
): Promise<{ credentials: CloudCredentials; identity: string; note?: string }> {
  const fromSecret = live?.credentials;
  const c = await connect({
    namespace: obj.metadata.namespace,
    credentials: obj.spec.credentials,
    readSecret: async () => {
      if (fromSecret === undefined)
        return { ok: false, message: 'credentials.secretRef cannot be read offline; used the default identity' };
      if ('error' in fromSecret) return { ok: false, message: `${fromSecret.error} Used the default identity.` };
      return { ok: true, credentials: fromSecret };
    },
  });
  if (c.ok) return { credentials: c.credentials, identity: c.label };
  return { credentials: { type: 'default' }, identity: 'default', note: c.message };
}

function renderText(r: PlanResult): string {
  const lines = [`${r.object}`];
  if (r.error) {
    const e = r.error as { reason: string; message: string };
    return `${lines[0]}: cannot plan: ${e.reason}: ${e.message}\n`;
  }
  const p = r.plan as ReturnType<typeof planStatus>;
  const ops = r.operations as Array<{ kind: string; accounts?: string[] }>;
  lines[0] += `: shared with ${r.shared} account(s)${r.community ? ', community image' : ''}; Apply would ${describePlan({ ...p, operations: [], blockers: [], unmanagedShares: [] })}`;
  for (const op of ops) lines.push(`    ${op.kind}${op.accounts ? ` ${op.accounts.join(', ')}` : ''}`);
  for (const b of r.blockers as Array<{ reason: string; message: string }>)
    lines.push(`    blocked: ${b.reason}: ${b.message}`);
  const adoption = adoptionSentence(r);
  if (adoption) lines.push(`    ${adoption}`);
  if (r.note) lines.push(`    note: ${r.note}`);
  return `${lines.join('\n')}\n`;
}

function cloudFromFlags(values: Record<string, unknown>): ImageSharingFactory {
  const endpoint = values['ecs-endpoint'] as string | undefined;
  return createEcsImageSharingFactory({
    ...(endpoint ? { endpoint } : {}),
    protocol: values['ecs-protocol'] === 'http' ? 'http' : 'https',
    timeoutMs: parseDuration(String(values['ecs-timeout'])),
    qps: 5,
    burst: 10,
  });
}

async function readManifests(path: string): Promise<Found[]> {
  if (path === '-') return parseDocs('stdin', await readStdin());
  const info = await stat(path).catch((err: unknown) => {
    throw new Error(`cannot read ${path}`, { cause: err });
  });
  if (info.isDirectory()) {
    // Recursive, like kubectl -R and kustomize trees; hidden directories (.git, .github) are not manifests.
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    const names = entries
      .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
      .map((e) => relative(path, join(e.parentPath, e.name)))
      .filter((n) => !n.split(sep).some((part) => part.startsWith('.')))
      .sort();
    return (await Promise.all(names.map((n) => readManifests(join(path, n))))).flat();
  }
  return parseDocs(path, await readFile(path, 'utf8'));
}

function parseDocs(source: string, text: string): Found[] {
  return parseAllDocuments(text).map((d, i) => {
    if (d.errors.length > 0)
      throw new Error(`${source}: document ${i + 1} is not valid YAML: ${d.errors[0]?.message ?? ''}`);
    return { source, doc: d.toJS() as unknown };
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** namespace/name for an ImageShare; the kind first for the fleet kinds, and no namespace for a ClusterAccountSet. */
function nameOf(o: ImageShare): string {
  const kind = fleetKindOf(o);
  const name = o.metadata?.name ?? '(no name)';
  if (kind === 'ClusterAccountSet') return `${kind} ${name}`;
  const ref = `${o.metadata?.namespace ?? '(default namespace)'}/${name}`;
  return kind === undefined ? ref : `${kind} ${ref}`;
}
