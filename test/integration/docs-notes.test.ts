// The chart's NOTES.txt as a user reads it after `helm install`, and its commands run as printed against the real
// apiserver, with the operator (local process) on the ECS emulator: the Plan-mode example must end with a plan to
// read, not a wait for a Ready that Plan mode never reaches, and the Apply step must reach Synced. Only the
// namespace of the example is changed (to a fresh one), and the two commands that need a running pod (rollout
// status, logs) are checked for naming the Deployment the chart created, since this control plane has no kubelet.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { binDir, testKubeconfig } from '../harness/env.ts';
import { CHART_DIR, helm } from '../harness/helm.ts';
import { createNamespace, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { runProcess } from '../harness/run-process.ts';

const OWNER = '1000000000000001';
const KEY = { accessKeyId: 'LTAItestNotes00001', accessKeySecret: 'test-only-notes-secret' };

let releaseNs: string;
let shareNs: string;
let release: string;
let notes: string;
let emu: Emulator;
let op: OperatorProcess;

beforeAll(async () => {
  releaseNs = await createNamespace('notes');
  shareNs = await createNamespace('notes-share');
  release = `notes-${randomBytes(3).toString('hex')}`;
  // The CRD is already installed by the suite, so the release leaves it alone.
  const install = await helm([
    'install',
    release,
    CHART_DIR,
    '-n',
    releaseNs,
    '--kubeconfig',
    testKubeconfig(),
    '--set',
    'crds.install=false',
  ]);
  expect({ code: install.code, err: install.stderr }).toEqual({ code: 0, err: '' });
  notes = (await helm(['get', 'notes', release, '-n', releaseNs, '--kubeconfig', testKubeconfig()])).stdout;
  emu = await startEmulator({
    seed: {
      owners: [{ id: OWNER, site: 'international', keys: [KEY] }],
      accounts: [{ id: '1234567890123456', site: 'international' }],
      regions: [{ id: 'cn-hangzhou', community: true }],
      images: [{ id: 'm-xxxxxxxxxxxxxxxx', region: 'cn-hangzhou', owner: OWNER, name: 'my-image' }],
    },
  });
  op = await startOperator({ kubeconfig: testKubeconfig(), ecsEndpoint: emu.endpoint, ...KEY, namespaces: [shareNs] });
}, 180_000);
afterAll(async () => {
  await op?.stop();
  await emu?.close();
  await helm(['uninstall', release, '-n', releaseNs, '--kubeconfig', testKubeconfig()]);
});

/** The shell commands NOTES prints: every `kubectl …` line and the heredoc apply, in order, namespace retargeted. */
function commands(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*cat <<'YAML'/.test(line)) {
      const end = lines.indexOf('YAML', i);
      if (end < 0) throw new Error('the heredoc in NOTES.txt never ends: its YAML terminator must start the line');
      out.push(lines.slice(i, end + 1).join('\n'));
      i = end;
    } else if (/^\s+kubectl /.test(line) && !line.includes('<')) out.push(line.trim());
  }
  return out.map((c) =>
    c.replaceAll('-n default', `-n ${shareNs}`).replaceAll('namespace: default', `namespace: ${shareNs}`),
  );
}

function sh(command: string) {
  return runProcess('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', command], {
    env: { PATH: `${binDir()}:${process.env.PATH ?? ''}`, KUBECONFIG: testKubeconfig(), HOME: process.env.HOME ?? '' },
    timeoutMs: 90_000,
  });
}

describe('NOTES.txt', () => {
  it('names the release namespace and the operator Deployment, and never waits for Ready in Plan mode', () => {
    expect(notes).toContain(`is installed in namespace ${releaseNs}.`);
    expect(notes).toContain(`deployment/${release}-imageshare-operator`);
    expect(notes).not.toMatch(/mode: Plan[\s\S]*kubectl wait --for=condition=Ready[\s\S]*Apply/);
  });

  it('its commands run as printed: the Plan example shows a plan, the Apply step reaches Synced', async () => {
    const cmds = commands(notes);
    expect(cmds.length).toBeGreaterThanOrEqual(7);
    const transcript: string[] = [];
    for (const c of cmds) {
      if (/^kubectl (-n \S+ )?(rollout status|logs) /.test(c)) {
        // Needs a running pod: check that the object it names exists instead.
        const ref = /deployment\/\S+/.exec(c)?.[0] ?? '';
        await kubectl(['get', ref, '-n', releaseNs]);
        continue;
      }
      const r = await sh(c);
      transcript.push(`$ ${c}\n${r.stdout}${r.stderr}`);
      expect({ command: c, code: r.code, err: r.stderr }).toEqual({ command: c, code: 0, err: '' });
    }
    const all = transcript.join('\n');
    expect(all).toContain('imageshare.ecs.alicloud.dev/my-image created');
    expect(all).toContain('{"grant":["1234567890123456"],"revoke":[]}');
    expect(all).toContain('imageshare.ecs.alicloud.dev/my-image condition met');
    const image = await emu.admin.image('cn-hangzhou', 'm-xxxxxxxxxxxxxxxx');
    expect(image.sharedWith.map((s) => s.id)).toEqual(['1234567890123456']);
  });
});
