// `npm run demo`: the whole product on one machine: control plane, ECS emulator, operator, the examples, drift and a
// failure, then a clean teardown (or everything left running with --keep). Flags: demo-args.ts; steps: demo-run.ts.
import { type DemoOptions, parseDemoArgs, USAGE } from './demo-args.ts';
import { DemoRun, type KeptEnvironment } from './demo-run.ts';
import { Progress } from './progress.ts';
import { Teardown } from './teardown.ts';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
function nextSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => () => {
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      resolve(signal);
    };
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}

class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}

function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  while (cur !== undefined && parts.length < 5) {
    parts.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join('\n  caused by: ');
}

/** Rejects when the operator exits by itself (while --keep waits for Ctrl-C, nobody else would notice). */
async function operatorExit(demo: DemoRun): Promise<never> {
  const op = demo.operator;
  const code = op === undefined ? await new Promise<never>(() => undefined) : await op.exited;
  throw new Error(`the operator exited unexpectedly with ${String(code)}; see ${op?.logPath ?? 'its log'}`);
}

function printKept(progress: Progress, env: KeptEnvironment): void {
  progress.info('');
  progress.info('Everything is still running (--keep). In another terminal:');
  progress.info(`  export KUBECONFIG=${env.kubeconfig}`);
  if (env.binDir !== undefined) progress.info(`  export PATH=${env.binDir}:$PATH    # the kubectl the demo used`);
  progress.info(`  kubectl get ishare -n ${env.namespace} -o wide`);
  progress.info(
    `ECS emulator: endpoint ${env.emulatorEndpoint} (http), admin API ${env.emulatorUrl}/_admin/ (e.g. curl ${env.emulatorUrl}/_admin/calls)`,
  );
  progress.info(`operator log: ${env.operatorLog}`);
  progress.info('Press Ctrl-C to stop everything.');
}

async function runDemo(options: DemoOptions): Promise<number> {
  const progress = new Progress((text) => process.stdout.write(text));
  const teardown = new Teardown();
  const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const demo = new DemoRun(options, progress, teardown, clock);
  const signal = nextSignal();
  let code = EXIT_OK;
  try {
    const env = await Promise.race([demo.run(), signal.then((s) => Promise.reject(new Interrupted(s)))]);
    if (options.keep) {
      printKept(progress, env);
      await Promise.race([signal, operatorExit(demo)]);
    }
  } catch (err: unknown) {
    code = err instanceof Interrupted ? EXIT_INTERRUPTED : EXIT_FAILED;
    const step = progress.step;
    const where = step === undefined ? 'before step 1' : `at step ${step.n} (${step.title})`;
    const what = err instanceof Interrupted ? err.message : `FAILED:\n  ${describeError(err)}`;
    process.stderr.write(`\ndemo stopped ${where}: ${what}\n`);
    const op = demo.operator;
    if (op !== undefined && !(err instanceof Interrupted)) {
      process.stderr.write(
        `operator log (last lines; full log: ${op.logPath}):\n${op.rawLog().trimEnd().split('\n').slice(-10).join('\n')}\n`,
      );
    }
  }
  progress.info('');
  progress.info(`Tearing down (${progress.elapsed()})`);
  const { failures } = await teardown.run((line) => progress.info(line));
  if (failures.length > 0) {
    process.stderr.write(`demo: teardown did not finish cleanly:\n  ${failures.join('\n  ')}\n`);
    if (code === EXIT_OK) code = EXIT_FAILED;
  }
  if (code === EXIT_OK) progress.info(`demo finished (${progress.elapsed()})`);
  return code;
}

async function main(): Promise<number> {
  const parsed = parseDemoArgs(process.argv.slice(2));
  if (parsed.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`${parsed.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  return runDemo(parsed.options);
}

process.exitCode = await main();
