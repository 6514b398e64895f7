// `npm run test:safety -- --runs N`: the model-based safety property (test/contract/safety-property.test.ts) for N
// runs (default 10,000), printing fast-check's progress through Jest and, at the end, "safety: R runs, S steps,
// 0 violations" (or the counterexample and its replay seed). `--sets` runs the set-layer property instead
// (test/contract/safety-sets-property.test.ts, default 1,000 runs).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HELP = `Usage: npm run test:safety -- [--sets] [--runs N]
Runs the model-based safety property test for N runs (default 10000): up to three objects per image (duplicates
applied together, a cache that lags), two writers, creations and deletions under every deletionPolicy, mode and
suspend, crashes at any await, write aborts, 409s from the store, read lag and reads that go backwards, clock skew,
share lists of several pages, throttling and faults; checked on the emulator's cloud state after every step, then
convergence, a quiet period on the real work queue (no hot loop) and cleanup.
--sets: the set-layer property instead (default 1000 runs): ImageShareSets, AccountSets and ClusterAccountSets
that change (accounts, references, selector, regions, keep, policies, deletion), builds that appear in two regions,
finish, are deprecated, deleted or shared out of band; the real set reconciler and ImageShare pass in any order,
crashing at any await (mid-discovery included), reads that lag. Checked after every step: no account shared that no
version of the set or of its account sets named, for an image its selector matched; no two children for one image;
nothing left by a child deleted under Revoke; then windows, shares, quiet work queues and cleanup.
SAFETY_SETS_STRICT=1 also fails on finding S1 (a child deleted before it saw Revoke; counted otherwise).
Replay a counterexample with SAFETY_SEED=<seed> SAFETY_PATH=<path> (or SAFETY_REPLAY=<replayPath>); SAFETY_DEBUG=1
prints a trace of every pass.
`;

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const sets = argv.includes('--sets');
  const at = argv.indexOf('--runs');
  const runs = at >= 0 ? Number(argv[at + 1]) : sets ? 1_000 : 10_000;
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`--runs must be a positive integer\n${HELP}`);
    return 2;
  }
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const file = sets ? 'test/contract/safety-sets-property.test.ts' : 'test/contract/safety-property.test.ts';
  const about = sets ? Math.ceil(runs / 1.5) : Math.ceil(runs / 6);
  process.stdout.write(`safety${sets ? ' (sets)' : ''}: ${runs} runs (about ${about} s on 2 cores)\n`);
  const r = spawnSync(
    process.execPath,
    [
      '--experimental-vm-modules',
      'node_modules/jest/bin/jest.js',
      '--selectProjects',
      'contract',
      // Only this file (a pattern also ran every other contract suite).
      '--runTestsByPath',
      file,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, CI: 'false', [sets ? 'SAFETY_SETS_RUNS' : 'SAFETY_RUNS']: String(runs) },
    },
  );
  return r.status ?? 1;
}

process.exit(main(process.argv.slice(2)));
