// Runs the real operator (node src/main.ts) as a child process for integration tests and the demo, exactly as a
// user would run it: flags, a kubeconfig, and cloud credentials in the environment (the default chain).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface OperatorOptions {
  kubeconfig: string;
  ecsEndpoint: string;
  /**
   * The operator identity's key (the default credential chain reads it from the environment). Omitted: no key in the
   * environment at all (the identity comes from `env`, e.g. RRSA's variables).
   */
  accessKeyId?: string;
  accessKeySecret?: string;
  /** More environment variables (after the harness's own, so they win). */
  env?: Record<string, string>;
  /** Pass no --tenancy-mode unless extraArgs does: the binary's own default applies (otherwise the harness runs open). */
  binaryDefaults?: boolean;
  namespaces?: string[];
  extraArgs?: string[];
  /** The script to run; default src/main.ts (the benchmark runs the built dist/main.js, as the image does). */
  entry?: string;
  /** Also written to the log file; defaults to a temp dir. */
  logPath?: string;
  /**
   * Load test/harness/clock-step-preload.ts, so that `stepClock()` moves this process's wall clock (Date.now(),
   * `new Date()`) forward by this many milliseconds, leaving its monotonic clock alone.
   */
  clockStepMs?: number;
  /**
   * A command that runs before node and then execs it with its arguments (same pid), e.g. one that puts itself into a
   * memory cgroup, so that V8 sizes its heap from that limit as it does in a pod (the benchmark's --memory-limit).
   */
  launcher?: string[];
}

export interface OperatorProcess {
  readonly logPath: string;
  /** The operator's process id (for the benchmark's CPU and memory readings). */
  readonly pid: number | undefined;
  readonly healthPort: number;
  readonly metricsPort: number;
  readonly exited: Promise<number | null>;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** The raw log text (for asserting that secrets never appear). */
  rawLog(): string;
  metrics(): Promise<string>;
  /** SIGTERM and wait for a graceful exit (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL: a crash, with no chance to clean up. */
  kill(): Promise<void>;
  /** Steps the wall clock forward by `clockStepMs` (SIGUSR2 to the preload). Throws unless started with clockStepMs. */
  stepClock(): void;
}

const CLOCK_STEP_PRELOAD = join(ROOT, 'test', 'harness', 'clock-step-preload.ts');

/** NODE_OPTIONS and the step size for the clock-step preload, or nothing when `stepMs` is undefined. */
function clockStepEnv(stepMs: number | undefined): Record<string, string> {
  if (stepMs === undefined) return {};
  const inherited = process.env.NODE_OPTIONS ?? '';
  return {
    NODE_OPTIONS: `${inherited} --import=${CLOCK_STEP_PRELOAD}`.trim(),
    IMAGESHARE_TEST_CLOCK_STEP_MS: String(stepMs),
  };
}

/** Starts the operator and resolves once its probe server is listening. Throws with the log tail if it exits first. */
export async function startOperator(opts: OperatorOptions): Promise<OperatorProcess> {
  const logPath = opts.logPath ?? join(mkdtempSync(join(tmpdir(), 'imageshare-operator-')), 'operator.log');
  const args = [
    opts.entry ?? join(ROOT, 'src', 'main.ts'),
    '--kubeconfig',
    opts.kubeconfig,
    '--ecs-endpoint',
    opts.ecsEndpoint,
    '--ecs-protocol',
    'http',
    '--ecs-timeout',
    '3s',
    '--health-port',
    '0',
    '--metrics-port',
    '0',
    '--log-level',
    'debug',
    ...(opts.namespaces?.length ? ['--namespaces', opts.namespaces.join(',')] : []),
    // The binary defaults to restricted (docs/adr/0034); suites that do not test tenancy run open unless they say.
    ...(opts.binaryDefaults || opts.extraArgs?.some((a) => a.startsWith('--tenancy-mode'))
      ? []
      : ['--tenancy-mode=open']),
    ...(opts.extraArgs ?? []),
  ];
  const {
    ALIBABA_CLOUD_ACCESS_KEY_ID: _id,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: _secret,
    ALIBABA_CLOUD_SECURITY_TOKEN: _token,
    ...inherited
  } = process.env;
  const keys =
    opts.accessKeyId === undefined || opts.accessKeySecret === undefined
      ? {}
      : { ALIBABA_CLOUD_ACCESS_KEY_ID: opts.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: opts.accessKeySecret };
  const env = {
    ...inherited,
    ...keys,
    // Never let the credential chain reach for instance metadata or a developer's CLI profile.
    ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
    ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true',
    ALIBABA_CLOUD_CREDENTIALS_FILE: '/nonexistent',
    NODE_NO_WARNINGS: '1',
    // The drift tests run --resync-interval 10s; users get the CRD's 1m floor (src/config.ts).
    IMAGESHARE_RESYNC_INTERVAL_FLOOR: '1s',
    ...clockStepEnv(opts.clockStepMs),
    ...opts.env,
  };
  const fd = openSync(logPath, 'a');
  const [command, ...argv] = [...(opts.launcher ?? []), NODE, ...args];
  const child = spawn(command as string, argv, { stdio: ['ignore', fd, fd], env, cwd: ROOT });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code) => {
      live.delete(child);
      res(code);
    }),
  );
  const rawLog = () => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const logs = () =>
    rawLog()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ports = await waitForListening(logs, exited, rawLog);
  return {
    logPath,
    pid: child.pid,
    ...ports,
    exited,
    logs,
    rawLog,
    metrics: async () => (await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`)).text(),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    stepClock() {
      if (opts.clockStepMs === undefined) throw new Error('stepClock(): this operator was started without clockStepMs');
      child.kill('SIGUSR2');
    },
  };
}

async function waitForListening(
  logs: () => Array<Record<string, unknown>>,
  exited: Promise<number | null>,
  rawLog: () => string,
): Promise<{ healthPort: number; metricsPort: number }> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const line = logs().find((l) => typeof l.healthPort === 'number' && typeof l.metricsPort === 'number');
    if (line) return { healthPort: line.healthPort as number, metricsPort: line.metricsPort as number };
    if (gone) throw new Error(`operator exited before listening:\n${rawLog().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`operator did not start listening within 30 s:\n${rawLog().slice(-3000)}`);
}
