// CPU time and resident memory of a process, read from /proc (Linux): what the benchmark reports for the operator
// and the apiserver. Figures only; nothing here asserts.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux the benchmark targets. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds `pid` has used so far; NaN when /proc cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based) of the whole line.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of `pid` in bytes; NaN when /proc cannot be read. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** A CPU meter over several processes: `lap()` returns the CPU seconds each used since the previous lap. */
export function cpuMeter(pids: Record<string, number>): { lap(): Record<string, number> } {
  let last = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  return {
    lap() {
      const now = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
      const used = Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (last[k] ?? 0)]));
      last = now;
      return used;
    },
  };
}

export const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(0)} MiB`;
