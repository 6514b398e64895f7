// Go-style durations ("90s", "10m", "1h30m"), the format Kubernetes users write in specs. One grammar for the CRD
// and the parser: DURATION_PATTERN is, character for character, the `pattern` of spec.resyncInterval in
// crds/imageshare.yaml (test/unit/duration.test.ts compares them, and test/integration/duration-crd.test.ts checks
// on a real apiserver that a value is accepted there exactly when parseDuration accepts it). Without that, a value
// the apiserver admits (e.g. "90000000000ns") would be rejected here and silently replaced by the default.

/** The grammar, as written in the CRD: one or more <decimal><unit>, units ns, us, µs (U+00B5), ms, s, m, h. */
export const DURATION_PATTERN = '^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$';

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
/** Go's time.Duration is an int64 of nanoseconds; ParseDuration (and CEL's duration()) reject anything larger. */
const MAX_NS = 2n ** 63n - 1n;

const WHOLE = new RegExp(DURATION_PATTERN);
const TERM = /([0-9]+)(?:[.]([0-9]+))?(ns|us|µs|ms|s|m|h)/g;

/**
 * Parses a duration matching DURATION_PATTERN into milliseconds. Arithmetic is exact in integer nanoseconds, like
 * Go's (fractions below a nanosecond are dropped), so bounds such as 1m compare exactly. Throws RangeError on
 * anything else, and on values above Go's maximum duration (about 292 years).
 */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) throw new RangeError(`"${text}" is not a duration like 30s, 10m or 1h30m`);
  let ns = 0n;
  for (const m of text.matchAll(TERM)) {
    const unit = UNIT_NS[m[3] ?? ''] ?? 0n;
    const fraction = m[2] ?? '';
    ns +=
      BigInt(m[1] ?? '0') * unit + (fraction === '' ? 0n : (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length));
    if (ns > MAX_NS) throw new RangeError(`"${text}" is longer than the largest duration (about 292 years)`);
  }
  return Number(ns) / 1e6;
}
