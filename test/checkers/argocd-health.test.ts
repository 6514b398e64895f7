// The Argo CD health script (docs/argocd/health.lua) in Argo CD's own interpreter (gopher-lua, with the sandbox
// Argo CD gives argocd-cm scripts), over statuses shaped as the operator writes them. The integration suite runs the
// same helper on statuses the operator really wrote.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { STATUS_ROWS } from '../support/imageshare-statuses.ts';
import { type ArgoHealth, argoHealth, argoHealthMany, HEALTH_SCRIPT_PATH } from '../harness/argocd-health.ts';

function row(name: string): (typeof STATUS_ROWS)[number] {
  const found = STATUS_ROWS.find((r) => r.name === name);
  if (!found) throw new Error(`fixture row ${name} missing`);
  return found;
}

describe('docs/argocd/health.lua in gopher-lua', () => {
  let verdicts: ArgoHealth[] = [];
  beforeAll(async () => {
    verdicts = await argoHealthMany(STATUS_ROWS.map((r) => r.obj));
  });

  it.each(STATUS_ROWS.map((r, i) => [r.name, r, i] as const))('%s', (_name, r, i) => {
    // r.why says why this is the right answer.
    const health = verdicts[i];
    expect({ why: r.why, status: health?.status }).toEqual({ why: r.why, status: r.argo.status });
    if (typeof r.argo.message === 'string') expect(health?.message).toBe(r.argo.message);
    else expect(health?.message).toMatch(r.argo.message);
  });

  it('reads generations given as strings (tonumber), so a stale status is never Healthy', async () => {
    const obj = structuredClone(row('spec edited, not yet observed').obj) as unknown as {
      metadata: { generation: unknown };
      status: { observedGeneration: unknown };
    };
    obj.metadata.generation = '4';
    obj.status.observedGeneration = '3';
    expect((await argoHealth(obj)).status).toBe('Progressing');
  });

  it('passes messages through byte for byte (quotes, backslashes, newlines, non-ASCII)', async () => {
    const message = 'Shared with "1" account \\ path\nsecond line — ünïcode\t✓';
    const obj = structuredClone(row('synced').obj);
    const ready = obj.status?.conditions?.[0];
    if (!ready) throw new Error('fixture has no Ready condition');
    ready.message = message;
    expect(await argoHealth(obj)).toEqual({ status: 'Healthy', message });
  });

  it('is Progressing, not Healthy, when status.observedGeneration is missing', async () => {
    // Older statuses without status.observedGeneration cannot prove they are current.
    const obj = structuredClone(row('synced').obj);
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

// The helper must be able to say no: if these pass, a health.lua that leaned on a library Argo CD does not open, or
// returned something Argo CD rejects, would fail the table above instead of slipping through.
describe('the Argo CD sandbox the helper reproduces', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'argocd-health-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  async function scriptFile(name: string, body: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, body);
    return path;
  }
  const synced = (): object => row('synced').obj;

  it.each([
    [
      'string library',
      'argocd-cm scripts run without the string library',
      'return { status = string.upper("healthy") }',
    ],
    ['math library', 'math is not opened either', 'return { status = "Healthy", message = tostring(math.floor(1.5)) }'],
    ['io library', 'no file or terminal access', 'io.write("x") return { status = "Healthy" }'],
    ['os.exit', 'the os library is the safe one: time and date only', 'os.exit(0) return { status = "Healthy" }'],
    ['non-table result', 'Argo CD requires a table', 'return "Healthy"'],
  ])('rejects a script using the %s (%s)', async (what, _why, body) => {
    const path = await scriptFile(`${what.replace(/\W/g, '-')}.lua`, body);
    await expect(argoHealth(synced(), path)).rejects.toThrow(/health\.lua failed/);
  });

  it('opens what Argo CD opens: base, table and safe os', async () => {
    const body =
      'local t = {} table.insert(t, "ok") return { status = "Healthy", message = t[1] .. type(os.time()) .. tostring(#obj.spec.accounts) }';
    expect(await argoHealth(synced(), await scriptFile('allowed.lua', body))).toEqual({
      status: 'Healthy',
      message: 'oknumber1',
    });
  });

  it('turns a status Argo CD does not know into Unknown, as Argo CD does', async () => {
    const path = await scriptFile('invalid.lua', 'return { status = "Green", message = "fine" }');
    expect(await argoHealth(synced(), path)).toEqual({
      status: 'Unknown',
      message: 'Lua returned an invalid health status',
    });
  });

  it('stops a script that runs past the 1 s timeout', async () => {
    const path = await scriptFile('loop.lua', 'while true do end');
    await expect(argoHealth(synced(), path)).rejects.toThrow(/health\.lua failed/);
  });
});
