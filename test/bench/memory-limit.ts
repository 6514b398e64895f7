// Runs the benchmark's operator under a memory limit, as the chart's pod does: Node sizes V8's heap from the cgroup
// limit it starts in (a 1Gi limit gives a heap limit of ~560 MiB, 512Mi ~260 MiB; on this 24 GiB machine without one
// it is ~4 GiB), and V8 grows its heap by that limit. Without the limit the benchmark would measure a heap no pod gets.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Bytes of a Kubernetes memory quantity with a binary or decimal suffix (512Mi, 1Gi, 800M, 1073741824). */
export function quantityBytes(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (m === null) throw new Error(`not a memory quantity: ${q}`);
  const unit: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(m[1]) * (m[2] === undefined ? 1 : (unit[m[2]] as number)));
}

/** The chart's default `resources.limits.memory` (values.yaml). */
export function chartMemoryLimit(valuesYaml: string): string {
  const limit = (parse(valuesYaml) as { resources?: { limits?: { memory?: unknown } } }).resources?.limits?.memory;
  if (typeof limit !== 'string') throw new Error('values.yaml has no resources.limits.memory');
  return limit;
}

export interface MemoryCgroup {
  /** Put before node: the shell joins the cgroup, then execs node (same pid). */
  launcher: string[];
  /** Removes the cgroup (after the operator processes in it have exited). */
  dispose(): void;
}

/**
 * A memory cgroup with `limitBytes` (cgroup v2 `memory.max`, or v1 `memory.limit_in_bytes`), or a reason why none
 * can be made here (not root, no memory controller).
 */
export function memoryCgroup(limitBytes: number, root = '/sys/fs/cgroup'): MemoryCgroup | { unavailable: string } {
  const name = `imageshare-bench-${process.pid}`;
  const v2 = existsSync(join(root, 'cgroup.controllers'));
  const dir = v2 ? join(root, name) : join(root, 'memory', name);
  try {
    // Not recursive: the kernel makes a cgroup's files when its directory is made inside a cgroup file system.
    mkdirSync(dir);
    if (!existsSync(join(dir, 'cgroup.procs'))) {
      rmdirSync(dir);
      throw new Error('not a cgroup file system');
    }
    writeFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(limitBytes));
    const set = Number(readFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim());
    if (set > limitBytes) throw new Error(`the limit reads back as ${set}`);
  } catch (err: unknown) {
    return { unavailable: `cannot make a memory cgroup at ${dir}: ${(err as Error).message}` };
  }
  return {
    launcher: ['/bin/sh', '-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', join(dir, 'cgroup.procs')],
    dispose: () => {
      try {
        rmdirSync(dir);
      } catch {
        // Still in use (an operator that did not exit): left for the next boot.
      }
    },
  };
}
