// Runs a command to completion and collects its output: the one way the harness, the demo and their tests call
// kubectl, helm, the Go helpers and the demo itself.
import { spawn } from 'node:child_process';

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunProcessOptions {
  /** Written to stdin, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** SIGKILL after this long and reject (default: no limit). */
  timeoutMs?: number;
}

/**
 * Runs `bin args` and resolves its exit code (-1 when killed by a signal) and output. Never rejects for a non-zero
 * exit; rejects when `bin` cannot be started or runs past `timeoutMs`.
 */
export function runProcess(bin: string, args: readonly string[], opts: RunProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.once('error', (err: Error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin}`, { cause: err }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${bin} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms`));
      else resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
