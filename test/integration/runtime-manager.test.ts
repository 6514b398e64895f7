// The Manager keeps the operator alive until a signal, whatever else is (not) running (issue 20 item 11).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../harness/eventually.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A kubeconfig naming an apiserver that is not there (port 9 on loopback refuses every connection). */
function unreachableKubeconfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'manager-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:9"}}]',
      'users: [{name: nobody, user: {token: x}}]',
      'contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]',
      'current-context: nowhere',
    ].join('\n'),
  );
  return path;
}

describe('Manager: the process lives until a signal', () => {
  it('with both probe listeners off and the apiserver unreachable, it keeps retrying until SIGTERM, then exits 0', async () => {
    const child = spawn(
      join(ROOT, 'node_modules', '.bin', 'node'),
      [
        'src/main.ts',
        `--kubeconfig=${unreachableKubeconfig()}`,
        '--cluster-id=test',
        '--health-probe-bind-address=0',
        '--metrics-bind-address=0',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((done) =>
      child.once('exit', (code) => {
        exitCode = code;
        done();
      }),
    );
    // Started, and every retry timer is the only thing left to run: the moment a silent exit would happen.
    await eventually(async () => expect(out).toContain('informer stopped on an error; restarting'), {
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(exitCode).toBeUndefined();
    child.kill('SIGTERM');
    await exited;
    expect(exitCode).toBe(0);
    expect(out).toContain('"msg":"stopped"');
  });
});
