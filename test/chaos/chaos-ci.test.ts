// The chaos suite at CI size (issue #8), in the integration project. It used to catch stale-spec grants from long
// reconcile passes; a pass now starts no cloud write once the cache shows a newer spec (runtime/spec-watch.ts).
// Two replicas with leader election on their own control plane, 20 % ECS faults, spec edits, and one each of: a
// SIGKILL of the leader, a wall-clock step on the standby (while the leader stalls), a SIGTERM of the leader, a
// watch expiry (etcd compacted, kube-apiserver restarted: a real 410 Gone) and a plain kube-apiserver restart. At
// the end the namespace, with its Revoke objects and the Secret some of them use, is deleted. Cloud samples are
// judged against the recent specs (chaos.ts STALE_SHARE_TOLERANCE_MS), not every spec ever allowed.
// `npm run chaos` runs the long version and prints the same figures.
import { describe, expect, it } from '@jest/globals';
import { Disruption, runChaos } from './chaos.ts';

describe('chaos (CI size)', () => {
  it('never two writers, never beyond the spec, everything converges, and the namespace deletion revokes everything', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      objects: 8,
      durationMs: 54_000,
      faultRate: 0.2,
      disruptions: [
        Disruption.SigKill,
        Disruption.ClockStep,
        Disruption.SigTerm,
        Disruption.WatchExpiry,
        Disruption.ApiServerRestart,
      ],
      secretRefObjects: 2,
      log: (l) => lines.push(l),
    });
    process.stdout.write(`chaos figures: ${JSON.stringify({ ...report, violations: report.violations.length })}\n`);
    try {
      const of = (kind: Disruption) => report.disruptions.filter((d) => d.kind === kind);
      expect(report.violations).toEqual([]);
      expect(report.overlaps).toBe(0);
      expect(report.converged).toBe(report.objects);
      // The SIGKILL and the SIGTERM each hand leadership over.
      expect([...of(Disruption.SigKill), ...of(Disruption.SigTerm)].every((d) => d.takeoverMs !== undefined)).toBe(
        true,
      );
      // The standby's clock did step, and it did not take the live lease (no leader change until the next disruption).
      expect(of(Disruption.ClockStep).map((d) => ({ stepped: d.stepped, takeoverMs: d.takeoverMs }))).toEqual([
        { stepped: true, takeoverMs: undefined },
      ]);
      // The real apiserver answered the operators' re-watch with 410 Gone, and they relisted (and still converged).
      expect(of(Disruption.WatchExpiry).every((d) => d.watchExpiries > 0)).toBe(true);
      // The plain restart happened, and once the new kube-apiserver served, the operators were writing again.
      expect(of(Disruption.ApiServerRestart).map((d) => (d.writesAfter ?? 0) > 0)).toEqual([true]);
      expect(report.grants).toBeGreaterThan(0);
      // One `kubectl delete namespace` (Secret first) finished, and nothing those objects granted is still shared.
      expect(report.namespaceDeletion).toMatchObject({ remaining: [], accountsLeft: 0 });
      expect(report.namespaceDeletion.ms).toBeDefined();
    } catch (err: unknown) {
      // The driver's log (edits, disruptions, each replica's log file) explains a failure.
      process.stdout.write(`${lines.join('\n')}\n`);
      throw err;
    }
  }, 300_000);
});
