// A child process of the test harness that cannot outlive the test run: it is killed when `stop()` is called, when
// this Node process exits, and (through a detached watchdog started by the caller, see `startWatchdog`) when this
// Node process is killed outright.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is the only thing that reliably finishes in time.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  readonly pid: number;
  /** Settles once, when the process has exited for any reason. */
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private hasExited = false;

  private constructor(name: string, logPath: string, child: ChildProcess, pid: number) {
    this.name = name;
    this.logPath = logPath;
    this.child = child;
    this.pid = pid;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.hasExited = true;
        live.delete(child);
        resolve({ code, signal });
      });
    });
  }

  /**
   * Starts `bin args`, with stdout and stderr appended to `logPath`. Throws when the binary cannot be spawned.
   */
  static start(name: string, bin: string, args: readonly string[], logPath: string): ManagedProcess {
    installExitHook();
    const fd = openSync(logPath, 'a');
    try {
      const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
      if (child.pid === undefined) throw new Error(`${name}: could not spawn ${bin}`);
      live.add(child);
      return new ManagedProcess(name, logPath, child, child.pid);
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** The last `lines` lines of the process's log, for error messages. */
  logTail(lines = 40): string {
    try {
      const text = readFileSync(this.logPath, 'utf8').trimEnd().split('\n');
      return text.slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Safe to call more than once. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}

/**
 * Starts a detached shell that waits for this Node process to disappear and then SIGKILLs every pid listed in
 * `<dir>/*.pid` and removes `dir`. It covers the case no exit hook can: this process being SIGKILLed. Returns a
 * function that ends the watchdog (call it after a normal shutdown, so it never signals a recycled pid).
 */
export function startWatchdog(dir: string): () => void {
  const script = `parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
for f in "$dir"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
rm -rf "$dir"`;
  const dog = spawn('bash', ['-c', script, 'imageshare-watchdog', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  dog.unref();
  return () => {
    if (dog.exitCode === null && dog.signalCode === null) dog.kill('SIGKILL');
  };
}
