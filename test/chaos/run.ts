// `npm run chaos [-- --objects 50 --duration 120s --fault-rate 0.2 --seed 7]`: the long chaos run of issue #8. Prints
// its figures; exits 1 when an invariant broke (overlaps, violations, objects not converged).
import { parseArgs } from 'node:util';
import { parseDuration } from '../../src/reconcile/duration.ts';
import { Disruption, runChaos } from './chaos.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '50' },
    duration: { type: 'string', default: '120s' },
    'fault-rate': { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
  },
});
const rounds = Number(values.rounds);
const disruptions = Array.from({ length: rounds }, () => [Disruption.SigKill, Disruption.SigTerm, Disruption.ApiServerRestart]).flat();
const report = await runChaos(
  {
    objects: Number(values.objects),
    durationMs: parseDuration(values.duration),
    faultRate: Number(values['fault-rate']),
    disruptions,
    log: (line) => process.stdout.write(`chaos: ${line}\n`),
  },
  Number(values.seed),
);
process.stdout.write(
  [
    `disruptions:        ${report.disruptions.map((d) => `${d.kind}@${(d.atMs / 1000).toFixed(1)}s→${d.takeoverMs === undefined ? 'no takeover' : `${d.takeoverMs} ms`}`).join(', ')}`,
    `takeovers:          ${report.takeovers}`,
    `max takeover time:  ${report.maxTakeoverMs} ms`,
    `overlaps:           ${report.overlaps} (must be 0)`,
    `objects converged:  ${report.converged}/${report.objects}`,
    `violations:         ${report.violations.length} (must be 0)`,
    ...report.violations.slice(0, 20).map((v) => `  ${v}`),
    `grants:             ${report.grants}`,
    `operator processes: ${report.processes}`,
    '',
  ].join('\n'),
);
process.exit(report.overlaps === 0 && report.violations.length === 0 && report.converged === report.objects ? 0 : 1);
