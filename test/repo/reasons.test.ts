// docs/reasons.md, the reason vocabulary and the ECS error table stay in step: every reason has one row, and every
// ECS code in the table is listed in the row of the reason it maps to.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Reason } from '../../src/api/reasons.ts';
import { ECS_ERROR_PREFIXES, ECS_ERROR_TABLE } from '../../src/cloud/ecs-errors.ts';

const doc = readFileSync(new URL('../../docs/reasons.md', import.meta.url), 'utf8');
const rows = new Map<string, { kind: string; codes: string }>();
for (const line of doc.split('\n')) {
  const m = /^\| `([A-Za-z]+)` \|([^|]*)\|([^|]*)\|/.exec(line);
  if (m?.[1]) rows.set(m[1], { kind: m[2]?.trim() ?? '', codes: m[3] ?? '' });
}

describe('docs/reasons.md', () => {
  it('has exactly one row per reason of the closed vocabulary', () => {
    expect([...rows.keys()].sort()).toEqual(Object.values(Reason).sort());
  });

  it.each(Object.entries(ECS_ERROR_TABLE))('lists %s in the row of its reason, with its kind', (code, entry) => {
    const row = rows.get(entry.reason);
    expect(row?.codes).toContain(`\`${code}\``);
    expect(row?.kind).toContain(entry.kind);
  });

  it.each(ECS_ERROR_PREFIXES)('documents the prefix rule %s*', (prefix) => {
    expect(doc).toContain(`\`${prefix}*\``);
  });
});
