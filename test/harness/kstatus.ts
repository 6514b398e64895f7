// kstatus verdicts from the real library: sigs.k8s.io/cli-utils/pkg/kstatus/status Compute, run by the Go helper
// test/support/go/kstatus. This is what `kstatus`-based waiters (Flux health checks, Helm 4's waiter, cli-utils' apply)
// conclude about an object.
import { GoHelper, runJsonLinesHelper } from './go-helpers.ts';

export const KstatusStatus = {
  InProgress: 'InProgress',
  Failed: 'Failed',
  Current: 'Current',
  Terminating: 'Terminating',
  NotFound: 'NotFound',
  Unknown: 'Unknown',
} as const;
export type KstatusStatus = (typeof KstatusStatus)[keyof typeof KstatusStatus];

export interface KstatusResult {
  status: KstatusStatus;
  message: string;
}

/** status.Compute for each object, in order, from one helper process; throws when Compute errors for any. */
export async function kstatusMany(objs: readonly object[]): Promise<KstatusResult[]> {
  const verdicts = await runJsonLinesHelper(GoHelper.Kstatus, [], objs);
  return verdicts.map((v, i) => {
    if (v.error !== undefined) throw new Error(`kstatus Compute failed for object ${i}: ${v.error}`);
    return { status: (v.status ?? '') as KstatusStatus, message: v.message ?? '' };
  });
}

export async function kstatus(obj: object): Promise<KstatusResult> {
  const [result] = await kstatusMany([obj]);
  if (result === undefined) throw new Error('kstatus returned nothing');
  return result;
}
