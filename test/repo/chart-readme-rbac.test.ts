// The chart README's RBAC table is a promise to the reviewer who approves the install: for each setting in its
// "When" column the chart is rendered, and the rendered Roles and ClusterRoles must hold exactly the rows that apply.
// A rule added to rbac.yaml without a row, or a row the templates do not have, fails here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CHART_DIR, type Manifest, renderChart } from '../harness/helm.ts';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
  resourceNames?: string[];
}
/** One permission as a comparable line: role kind, group, resource, names, verbs. */
type Grant = string;

interface Row {
  grant: Grant;
  /** 'always', 'set' (only with `when`), or 'default' (unless `when`). */
  rule: 'always' | 'set' | 'default';
  when?: string;
}

const grant = (kind: string, group: string, resource: string, names: readonly string[], verbs: readonly string[]) =>
  `${kind} ${group || 'core'} ${resource}${names.length ? ` [${[...names].sort().join(',')}]` : ''}: ${[...verbs].sort().join(',')}`;

async function tableRows(): Promise<Row[]> {
  const readme = await readFile(join(CHART_DIR, 'README.md'), 'utf8');
  const section = readme.split('## RBAC')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Role |') && !l.startsWith('|---'))
    .map((l) => {
      const [role = '', group = '', resource = '', verbs = '', when = ''] = l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      const kind = role.startsWith('ClusterRole') ? 'ClusterRole' : 'Role';
      const res = /^`([^`]+)`/.exec(resource)?.[1] ?? resource;
      const names = [...resource.matchAll(/\(`([^`]+)` only\)/g)].map((m) => m[1] ?? '');
      const g = group === 'core' ? '' : group.replaceAll('`', '');
      const setting = /`([^`]+=[^`]+)`/.exec(when)?.[1];
      const rule = when === 'always' ? 'always' : when.startsWith('default') ? 'default' : 'set';
      const v = verbs.split(',').map((x) => x.trim());
      return { grant: grant(kind, g, res, names, v), rule, ...(setting ? { when: setting } : {}) };
    });
}

function rendered(ms: readonly Manifest[]): Grant[] {
  const out = new Set<Grant>();
  for (const m of ms) {
    if (m.kind !== 'Role' && m.kind !== 'ClusterRole') continue;
    for (const r of (m as Manifest & { rules: Rule[] }).rules) {
      // A non-resource rule (a URL such as /metrics) is a row with group "nonResourceURL".
      for (const url of r.nonResourceURLs ?? []) out.add(grant(m.kind, 'nonResourceURL', url, [], r.verbs));
      for (const group of r.apiGroups ?? [])
        for (const resource of r.resources ?? [])
          out.add(grant(m.kind, group, resource, r.resourceNames ?? [], r.verbs));
    }
  }
  return [...out].sort();
}

/** `a.b=c` → helm --set pair; `{x}` lists as helm writes them. */
const setOf = (setting: string | undefined): Record<string, string> => {
  if (setting === undefined) return {};
  const [k = '', v = ''] = setting.split('=');
  return { [k]: v };
};

describe('chart README: the RBAC table matches the rendered templates', () => {
  it('has rows, each with a setting or "always"/"default"', async () => {
    const rows = await tableRows();
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const r of rows) if (r.rule !== 'always') expect(r.when).toBeDefined();
  });

  it('for the defaults and for each setting the table names, the rendered rules are exactly the rows that apply', async () => {
    const rows = await tableRows();
    const settings = [undefined, ...new Set(rows.flatMap((r) => (r.when ? [r.when] : [])))];
    for (const setting of settings) {
      const expected = rows
        .filter((r) => (r.rule === 'always' ? true : r.rule === 'set' ? r.when === setting : r.when !== setting))
        .map((r) => r.grant);
      const actual = rendered(await renderChart({ set: setOf(setting) }));
      expect({ setting: setting ?? 'defaults', rules: actual }).toEqual({
        setting: setting ?? 'defaults',
        rules: [...new Set(expected)].sort(),
      });
    }
  });
});
