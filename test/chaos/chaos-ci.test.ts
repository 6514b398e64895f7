// The chaos suite at CI size (issue #8), in the integration project. It used to catch stale-spec grants from long
// reconcile passes; a pass now starts no cloud write once the cache shows a newer spec (runtime/spec-watch.ts).
// Two replicas with leader election on their own control plane, 20 % ECS faults, spec edits, and one SIGKILL of
// the leader, one SIGTERM of the leader and one kube-apiserver restart.
// `npm run chaos` runs the long version and prints the same figures.
import { describe, expect, it } from '@jest/globals';
import { Disruption, runChaos } from './chaos.ts';

describe('chaos (CI size)', () => {
  it('never two writers, never beyond the spec, and everything converges afterwards', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      objects: 8,
      durationMs: 36_000,
      faultRate: 0.2,
      disruptions: [Disruption.SigKill, Disruption.SigTerm, Disruption.ApiServerRestart],
      log: (l) => lines.push(l),
    });
    process.stdout.write(`chaos figures: ${JSON.stringify({ ...report, violations: report.violations.length })}\n`);
    expect(report.violations).toEqual([]);
    expect(report.overlaps).toBe(0);
    expect(report.converged).toBe(report.objects);
    // The SIGKILL and the SIGTERM each hand leadership over.
    expect(report.disruptions.filter((d) => d.kind !== Disruption.ApiServerRestart).every((d) => d.takeoverMs !== undefined)).toBe(true);
    expect(report.grants).toBeGreaterThan(0);
  }, 300_000);
});
