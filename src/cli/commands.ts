// `imageshare-operator validate` and `imageshare-operator plan`: the checks a GitOps pull request wants before merge.
// validate applies the CRD's rules offline; plan reads the cloud and prints exactly what Apply would write, using
// the same planner as the controller. Exit codes: 0 fine, 1 invalid manifest or cloud error, 2 usage error.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { ImageShare } from '../api/types.ts';
import { validateImageShare } from '../api/validate.ts';
import { createEcsImageSharingFactory } from '../cloud/ecs-factory.ts';
import type { CloudCredentials, ImageSharingFactory } from '../cloud/port.ts';
import { describePlan } from '../reconcile/compute-status.ts';
import { parseDuration } from '../reconcile/duration.ts';
import { asCloudError } from '../reconcile/execute-plan.ts';
import { planShares, planStatus } from '../reconcile/plan-shares.ts';

export const CLI_COMMANDS = ['validate', 'plan'] as const;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Overrides the cloud for tests; default: the real SDK with the flags' endpoint. */
  cloud?: ImageSharingFactory;
}

export function isCliCommand(argv: readonly string[]): boolean {
  return (CLI_COMMANDS as readonly string[]).includes(argv[0] ?? '');
}

const USAGE = `Usage:
  imageshare-operator validate -f <file|dir|-> [-f ...]
      Checks every ImageShare in the manifests against the CRD's rules, offline. Exit 1 if any is invalid.
  imageshare-operator plan -f <file|dir|-> [-f ...] [--ecs-endpoint host:port] [--ecs-protocol https|http]
                           [--ecs-timeout 10s] [--output text|json]
      Validates, then reads each image's share list from ECS and prints the writes Apply would make, in order.
      Credentials: the @alicloud/credentials default chain (e.g. ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET), or the
      object's credentials.roleArn assumed from it. A credentials.secretRef cannot be read offline: the default
      identity is used instead and the output says so. Additive revokes depend on status.managedAccounts in the
      cluster and are not shown.
`;

interface Found {
  source: string;
  doc: unknown;
}

/** Runs a CLI command and resolves its exit code. Never throws for user errors. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        file: { type: 'string', short: 'f', multiple: true },
        'ecs-endpoint': { type: 'string' },
        'ecs-protocol': { type: 'string', default: 'https' },
        'ecs-timeout': { type: 'string', default: '10s' },
        output: { type: 'string', default: 'text' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err: unknown) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const files = (values.file as string[] | undefined) ?? [];
  if (files.length === 0) {
    io.err(`${command}: give at least one -f <file|dir|->\n\n${USAGE}`);
    return 2;
  }
  let found: Found[];
  try {
    found = (await Promise.all(files.map(readManifests))).flat().filter((f) => isImageShare(f.doc));
  } catch (err: unknown) {
    io.err(`${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (found.length === 0) {
    io.err(`${command}: no ImageShare objects found in ${files.join(', ')}\n`);
    return 1;
  }
  const invalid = reportValidation(found, io, command === 'validate');
  if (command === 'validate' || invalid > 0) return invalid > 0 ? 1 : 0;
  return plan(found.map((f) => f.doc as ImageShare), values, io);
}

function reportValidation(found: Found[], io: CliIo, verbose: boolean): number {
  let invalid = 0;
  for (const { source, doc } of found) {
    const problems = validateImageShare(doc);
    const name = nameOf(doc as ImageShare);
    if (problems.length > 0) {
      invalid++;
      io.out(`✗ ${name} (${source})\n${problems.map((p) => `    ${p}\n`).join('')}`);
    } else if (verbose) io.out(`✓ ${name} (${source})\n`);
  }
  if (verbose || invalid > 0) io.out(`${found.length - invalid} valid, ${invalid} invalid\n`);
  return invalid;
}

async function plan(objects: ImageShare[], values: Record<string, unknown>, io: CliIo): Promise<number> {
  const cloud = io.cloud ?? cloudFromFlags(values);
  const results: Array<Record<string, unknown>> = [];
  for (const obj of objects) results.push(await planOne(obj, cloud));
  if (values.output === 'json') io.out(`${JSON.stringify(results, null, 2)}\n`);
  else for (const r of results) io.out(renderText(r));
  return results.some((r) => r.error) ? 1 : 0;
}

/** Observes one object's image and plans it with the controller's planner (no managed accounts offline). */
async function planOne(obj: ImageShare, cloud: ImageSharingFactory): Promise<Record<string, unknown>> {
  const roleArn = obj.spec.credentials?.roleArn;
  const credentials: CloudCredentials = roleArn ? { type: 'roleArn', roleArn } : { type: 'default' };
  const note = obj.spec.credentials?.secretRef ? { note: 'credentials.secretRef cannot be read offline; used the default identity' } : {};
  try {
    const seen = await cloud.forCredentials(credentials).observe({ regionId: obj.spec.regionId, imageId: obj.spec.imageId });
    const p = planShares({
      desiredAccounts: obj.spec.accounts ?? [],
      desiredCommunity: obj.spec.community,
      sharePolicy: obj.spec.sharePolicy ?? 'Authoritative',
      observedAccounts: seen.sharedAccounts.map((a) => a.id),
      observedCommunity: seen.community,
      observedEncrypted: seen.encrypted,
      managedAccounts: [],
    });
    const blockers = p.blockers.map(({ reason, message }) => ({ reason, message }));
    return { object: nameOf(obj), shared: seen.sharedAccounts.length, community: seen.community, plan: planStatus(p), operations: p.operations, blockers, ...note };
  } catch (err: unknown) {
    const e = asCloudError(err);
    return { object: nameOf(obj), error: { reason: e.reason, message: e.message } };
  }
}

function renderText(r: Record<string, unknown>): string {
  const lines = [`${r.object}`];
  if (r.error) {
    const e = r.error as { reason: string; message: string };
    return `${lines[0]}: cannot plan: ${e.reason}: ${e.message}\n`;
  }
  const p = r.plan as ReturnType<typeof planStatus>;
  const ops = r.operations as Array<{ kind: string; accounts?: string[] }>;
  lines[0] += `: shared with ${r.shared} account(s)${r.community ? ', community image' : ''}; Apply would ${describePlan({ ...p, operations: [], blockers: [], unmanagedShares: [] })}`;
  for (const op of ops) lines.push(`    ${op.kind}${op.accounts ? ` ${op.accounts.join(', ')}` : ''}`);
  for (const b of r.blockers as Array<{ reason: string; message: string }>) lines.push(`    blocked: ${b.reason}: ${b.message}`);
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
    const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n)).sort();
    return (await Promise.all(names.map((n) => readManifests(join(path, n))))).flat();
  }
  return parseDocs(path, await readFile(path, 'utf8'));
}

function parseDocs(source: string, text: string): Found[] {
  return parseAllDocuments(text).map((d, i) => {
    if (d.errors.length > 0) throw new Error(`${source}: document ${i + 1} is not valid YAML: ${d.errors[0]?.message ?? ''}`);
    return { source, doc: d.toJS() as unknown };
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isImageShare(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && (doc as { kind?: unknown }).kind === 'ImageShare';
}

function nameOf(o: ImageShare): string {
  return `${o.metadata?.namespace ?? '(default namespace)'}/${o.metadata?.name ?? '(no name)'}`;
}
