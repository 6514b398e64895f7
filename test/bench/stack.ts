// The benchmark's view of the control plane: kubectl against it, and the apiserver's own request counter
// (apiserver_request_total), which counts every request whoever sent it.
import { join } from 'node:path';
import { KubeCli } from '../harness/kube-cli.ts';
import type { ControlPlane } from '../harness/control-plane.ts';

/** Runs kubectl against `plane` (its admin kubeconfig). Throws on a non-zero exit. */
export async function kubectlAt(plane: ControlPlane, args: readonly string[]): Promise<string> {
  const cli = new KubeCli(join(plane.binDir, 'kubectl'), plane.kubeconfigPath, join(plane.dir, 'kube-cache'));
  return (await cli.run(args)).stdout;
}

/** apiserver_request_total summed per "VERB resource". */
export class ApiRequests {
  readonly counts: ReadonlyMap<string, number>;

  constructor(counts: ReadonlyMap<string, number>) {
    this.counts = counts;
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** The requests made between `earlier` and this reading. */
  minus(earlier: ApiRequests): ApiRequests {
    const out = new Map<string, number>();
    for (const [k, n] of this.counts) {
      const d = n - (earlier.counts.get(k) ?? 0);
      if (d > 0) out.set(k, d);
    }
    return new ApiRequests(out);
  }

  /** These counts without `key` (e.g. the bench's own creates). */
  without(key: string): ApiRequests {
    const out = new Map(this.counts);
    out.delete(key);
    return new ApiRequests(out);
  }

  /** "VERB resource x.xx" per object, largest first. */
  describe(objects: number): string {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, n]) => `${k} ${(n / objects).toFixed(2)}`)
      .join(', ');
  }
}

/** Reads the apiserver's request counters (kubectl get --raw /metrics), ignoring the bench's own metrics reads. */
export async function scrapeApiRequests(plane: ControlPlane): Promise<ApiRequests> {
  const text = await kubectlAt(plane, ['get', '--raw', '/metrics']);
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    const verb = /(?:^|,)verb="([^"]*)"/.exec(labels)?.[1] ?? '';
    const resource = /(?:^|,)resource="([^"]*)"/.exec(labels)?.[1] ?? '';
    const subresource = /(?:^|,)subresource="([^"]*)"/.exec(labels)?.[1] ?? '';
    if (resource === '' && subresource === '') continue; // non-resource URLs: /metrics, /healthz, discovery
    if (!['imageshares', 'events', 'secrets'].includes(resource)) continue;
    const key = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return new ApiRequests(counts);
}
