// `plan --output markdown`: one table a CI job can post as a pull-request comment. One row per object: the accounts
// Apply would grant and revoke, the community change, anything blocking it, and which identity read the cloud (so a
// reviewer sees when the plan was made with the default identity instead of the object's own Secret).

/** A plan result as planOne() in commands.ts builds it (also the `plan --output json` element). */
export interface PlanRow {
  object?: unknown;
  plan?: unknown;
  blockers?: unknown;
  error?: unknown;
  identity?: unknown;
  note?: unknown;
}

const HEADER = ['Object', 'Grant', 'Revoke', 'Community', 'Blockers', 'Credentials'] as const;

export function renderMarkdown(rows: readonly PlanRow[]): string {
  const changes = rows.filter((r) => r.error === undefined && hasChange(r)).length;
  const errors = rows.filter((r) => r.error !== undefined).length;
  const lines = [
    '### imageshare-operator plan',
    '',
    `${rows.length} object(s): ${changes} with changes, ${errors} that could not be planned. Plans never write to ECS.`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(escapeCell).join(' | ')} |`),
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
  const plan = (r.plan ?? {}) as { grant?: string[]; revoke?: string[]; community?: string };
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

function hasChange(r: PlanRow): boolean {
  const plan = (r.plan ?? {}) as { grant?: string[]; revoke?: string[]; community?: string };
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
