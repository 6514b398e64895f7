// `plan --output markdown`: one table a CI job can post as a pull-request comment. One row per object: the accounts
// Apply would grant and revoke, the community change, anything blocking it, and which identity read the cloud (so a
// reviewer sees when the plan was made with the default identity instead of the object's own Secret). The first line
// is a hidden marker the CI examples (docs/ci/) look for, so each push updates one comment instead of adding one.

/** A plan result as planOne() in commands.ts builds it (also the `plan --output json` element). */
export interface PlanRow {
  object?: unknown;
  plan?: unknown;
  blockers?: unknown;
  error?: unknown;
  identity?: unknown;
  note?: unknown;
  /** Accounts an Authoritative object would revoke that it did not grant (shared outside Git). */
  adopting?: unknown;
  /** 'not read' without --kubeconfig; then nobody knows which shares the object made. */
  live?: unknown;
  /** An ImageShareSet's plan (src/cli/plan-sets.ts): the children it would create and delete. */
  children?: unknown;
}

/** The hidden first line of every Markdown plan: what a CI job searches for to update its one comment. */
export const COMMENT_MARKER = '<!-- imageshare-operator plan -->';

const HEADER = ['Object', 'Grant', 'Revoke', 'Community', 'Blockers', 'Credentials'] as const;

export function renderMarkdown(rows: readonly PlanRow[]): string {
  const changes = rows.filter((r) => r.error === undefined && hasChange(r)).length;
  const errors = rows.filter((r) => r.error !== undefined).length;
  const adopting = rows.flatMap((r) => {
    const sentence = adoptionSentence(r);
    return sentence ? [`- \`${String(r.object)}\` ${sentence}`] : [];
  });
  const lines = [
    COMMENT_MARKER,
    '### imageshare-operator plan',
    '',
    `${rows.length} object(s): ${changes} with changes, ${errors} that could not be planned. Plans never write to ECS.`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(escapeCell).join(' | ')} |`),
    ...(adopting.length === 0
      ? []
      : [
          '',
          '**Adopting shares made outside Git.** Apply would revoke these; to keep them, add them to `accounts`, or',
          'adopt with `mode: Plan` first (or `sharePolicy: Additive`):',
          '',
          ...adopting,
        ]),
  ];
  return `${lines.join('\n')}\n`;
}

function cells(r: PlanRow): string[] {
  const object = `\`${String(r.object)}\``;
  const credentials = credentialsCell(r);
  if (r.error !== undefined) {
    const e = r.error as { reason?: unknown; message?: unknown };
    return [object, '—', '—', '—', `cannot plan: ${String(e.reason)}: ${String(e.message)}`, credentials];
  }
  const plan = r.children === undefined ? planOf(r) : childrenPlan(r.children);
  const blockers = Array.isArray(r.blockers) ? (r.blockers as Array<{ reason?: unknown; message?: unknown }>) : [];
  return [
    object,
    accountsCell(plan.grant),
    accountsCell(plan.revoke),
    plan.community ?? '—',
    blockers.length === 0 ? '—' : blockers.map((b) => `${String(b.reason)}: ${String(b.message)}`).join('<br>'),
    credentials,
  ];
}

/** The plan line naming pre-existing shares an Authoritative object would revoke, or undefined when there are none. */
export function adoptionSentence(r: PlanRow): string | undefined {
  const accounts = Array.isArray(r.adopting) ? (r.adopting as string[]) : [];
  if (accounts.length === 0) return undefined;
  const unknown = r.live === 'not read' ? ' (or granted by this object earlier: pass --kubeconfig to tell)' : '';
  return `adopting: will revoke ${accounts.join(', ')}, shared outside Git${unknown}`;
}

/** True when Apply would write something or is blocked from reaching the spec (`plan --detailed-exitcode` exit 2). */
export function hasChanges(r: PlanRow): boolean {
  return r.error === undefined && (hasChange(r) || (Array.isArray(r.blockers) && r.blockers.length > 0));
}

type CellPlan = { grant?: string[]; revoke?: string[]; community?: string };
const planOf = (r: PlanRow) => (r.plan ?? {}) as CellPlan;

/** A set's row: the children created (with whom they share) in Grant, the children deleted in Revoke. */
function childrenPlan(children: unknown): CellPlan {
  const c = children as { create: Array<{ name: string; accounts: string[] }>; remove: string[] };
  return {
    grant: c.create.map((l) => `create ${l.name} (${l.accounts.join(', ') || 'no accounts'})`),
    revoke: c.remove.map((n) => `delete ${n}`),
  };
}

function hasChange(r: PlanRow): boolean {
  const plan = r.children === undefined ? planOf(r) : childrenPlan(r.children);
  return (plan.grant?.length ?? 0) > 0 || (plan.revoke?.length ?? 0) > 0 || plan.community !== undefined;
}

function accountsCell(accounts: readonly string[] | undefined): string {
  return accounts === undefined || accounts.length === 0 ? '—' : accounts.join(', ');
}

function credentialsCell(r: PlanRow): string {
  const identity = r.identity === 'default' || r.identity === undefined ? 'default identity' : String(r.identity);
  return r.note === undefined ? identity : `${identity} (${String(r.note)})`;
}

/** Keeps a cell on one table row: pipes escaped, newlines as <br>. */
function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll(/\r?\n/g, '<br>');
}
