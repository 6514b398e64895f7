// `npm run chaos [-- --objects 50 --duration 120s --fault-rate 0.2 --rounds 2 --seed 7]`: the long chaos run of issue
// #8. Prints its figures; exits 1 when an invariant broke (overlaps, violations, objects not converged, a takeover at
// a clock step, a watch expiry that produced no 410, a namespace deletion that did not finish or left accounts).
import { parseArgs } from 'node:util';
import { parseDuration } from '../../src/reconcile/duration.ts';
import { type ChaosReport, Disruption, runChaos } from './chaos.ts';

const HELP = `Usage: npm run chaos -- [options]

Two elected operator replicas on their own control plane (etcd + kube-apiserver), the ECS emulator failing a
share of calls, a constant trickle of spec edits, and --rounds times each, spread over --duration: SIGKILL of the
leader, a +60 s wall-clock step on the standby (while the leader stalls 2.6 s), SIGTERM of the leader, a watch
expiry (etcd compacted during a kube-apiserver restart: every watch gets 410 Gone) and a plain kube-apiserver
restart. Then faults stop, every object must converge, and the namespace (Revoke objects plus a few using its
Secret) is deleted with everything revoked.

Options:
  --objects N          ImageShares under chaos (default 50)
  --duration D         how long faults, edits and disruptions run (default 120s)
  --fault-rate F       share of ECS calls that fail with 503 (default 0.2)
  --rounds N           how many times each disruption happens (default 2)
  --secret-ref N       objects using the namespace's Secret, added for the final deletion (default 3)
  --seed N             PRNG seed for edits (default 1)
  -h, --help           this text
`;

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '50' },
    duration: { type: 'string', default: '120s' },
    'fault-rate': { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    'secret-ref': { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const rounds = Number(values.rounds);
const kinds = [
  Disruption.SigKill,
  Disruption.ClockStep,
  Disruption.SigTerm,
  Disruption.WatchExpiry,
  Disruption.ApiServerRestart,
];
const disruptions = Array.from({ length: rounds }, () => kinds).flat();
const report = await runChaos(
  {
    objects: Number(values.objects),
    durationMs: parseDuration(values.duration),
    faultRate: Number(values['fault-rate']),
    disruptions,
    secretRefObjects: Number(values['secret-ref']),
    log: (line) => process.stdout.write(`chaos: ${line}\n`),
  },
  Number(values.seed),
);

const describeDisruption = (d: ChaosReport['disruptions'][number]) => {
  const takeover = d.takeoverMs === undefined ? 'no takeover' : `${d.takeoverMs} ms`;
  const extra = [d.watchExpiries > 0 ? `${d.watchExpiries}×410` : '', d.stepped === false ? 'NOT STEPPED' : '']
    .filter(Boolean)
    .join(' ');
  return `${d.kind}@${(d.atMs / 1000).toFixed(1)}s→${takeover}${extra ? ` (${extra})` : ''}`;
};
const nsd = report.namespaceDeletion;
const clockSteps = report.disruptions.filter((d) => d.kind === Disruption.ClockStep);
const clockTakeovers = clockSteps.filter((d) => d.takeoverMs !== undefined || d.stepped !== true).length;
const expiries = report.disruptions.filter((d) => d.kind === Disruption.WatchExpiry);
const expiriesWithout410 = expiries.filter((d) => d.watchExpiries === 0).length;
process.stdout.write(
  [
    `disruptions:        ${report.disruptions.map(describeDisruption).join(', ')}`,
    `takeovers:          ${report.takeovers}`,
    `max takeover time:  ${report.maxTakeoverMs} ms`,
    `overlaps:           ${report.overlaps} (must be 0)`,
    `clock steps:        ${clockSteps.length}, with a takeover or no step: ${clockTakeovers} (must be 0)`,
    `watch expiries:     ${report.watchExpiries} 410 Gone seen by the operators; expiry disruptions without one: ${expiriesWithout410} (must be 0)`,
    `objects converged:  ${report.converged}/${report.objects}`,
    `violations:         ${report.violations.length} (must be 0)`,
    ...report.violations.slice(0, 20).map((v) => `  ${v}`),
    `namespace deleted:  ${nsd.ms === undefined ? `NOT GONE (left: ${nsd.remaining.join(' ')})` : `in ${(nsd.ms / 1000).toFixed(1)} s`}, ${nsd.objects} Revoke objects (${nsd.secretRefObjects} using its Secret), ${nsd.accountsLeft} accounts left (must be 0)`,
    `grants:             ${report.grants}`,
    `operator processes: ${report.processes}`,
    '',
  ].join('\n'),
);
const ok =
  report.overlaps === 0 &&
  report.violations.length === 0 &&
  report.converged === report.objects &&
  clockTakeovers === 0 &&
  expiriesWithout410 === 0 &&
  nsd.ms !== undefined &&
  nsd.accountsLeft === 0;
process.exit(ok ? 0 : 1);
