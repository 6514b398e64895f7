// The Argo CD health script (docs/argocd/health.lua) under the real lua5.1, over statuses shaped as the operator
// writes them. The integration suite runs the same function on statuses the operator really wrote.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { STATUS_ROWS } from '../fixtures/imageshare-statuses.ts';
import { argoHealth, HEALTH_SCRIPT_PATH } from '../harness/argocd-health.ts';

describe('docs/argocd/health.lua', () => {
  it.each(STATUS_ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    // row.why says why this is the right answer.
    const health = await argoHealth(row.obj);
    expect({ why: row.why, status: health.status }).toEqual({ why: row.why, status: row.argo.status });
    if (typeof row.argo.message === 'string') expect(health.message).toBe(row.argo.message);
    else expect(health.message).toMatch(row.argo.message);
  });

  it('reads generations given as strings (tonumber), so a stale status is never Healthy', async () => {
    const row = STATUS_ROWS.find((r) => r.name === 'spec edited, not yet observed');
    if (!row) throw new Error('fixture row missing');
    const obj = structuredClone(row.obj) as unknown as { metadata: { generation: unknown }; status: { observedGeneration: unknown } };
    obj.metadata.generation = '4';
    obj.status.observedGeneration = '3';
    expect((await argoHealth(obj)).status).toBe('Progressing');
  });

  it('passes messages through byte for byte (quotes, backslashes, newlines, non-ASCII)', async () => {
    const message = 'Shared with "1" account \\ path\nsecond line — ünïcode\t✓';
    const row = STATUS_ROWS.find((r) => r.name === 'synced');
    if (!row) throw new Error('fixture row missing');
    const obj = structuredClone(row.obj);
    const ready = obj.status?.conditions?.[0];
    if (!ready) throw new Error('fixture has no Ready condition');
    ready.message = message;
    expect(await argoHealth(obj)).toEqual({ status: 'Healthy', message });
  });

  it('is Progressing, not Healthy, when status.observedGeneration is missing', async () => {
    // Older statuses without status.observedGeneration cannot prove they are current.
    const row = STATUS_ROWS.find((r) => r.name === 'synced');
    if (!row) throw new Error('fixture row missing');
    const obj = structuredClone(row.obj);
    if (obj.status) delete obj.status.observedGeneration;
    expect((await argoHealth(obj)).status).toBe('Progressing');
  });

  it('is shipped verbatim in the argocd-cm snippet', async () => {
    const script = await readFile(HEALTH_SCRIPT_PATH, 'utf8');
    const cm = parse(await readFile(new URL('../../docs/argocd/argocd-cm.yaml', import.meta.url), 'utf8')) as {
      data: Record<string, string>;
    };
    expect(cm.data['resource.customizations.health.ecs.alicloud.dev_ImageShare']).toBe(script);
  });
});
