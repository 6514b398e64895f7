import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { DURATION_PATTERN, parseDuration } from '../../src/reconcile/duration.ts';

const crd = parse(readFileSync(new URL('../../crds/imageshare.yaml', import.meta.url), 'utf8'));
const resyncSchema = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.resyncInterval;

describe('one duration grammar for the CRD and the parser', () => {
  it('the parser uses exactly the pattern of spec.resyncInterval, and its CEL guard repeats it', () => {
    // Why: any difference lets the apiserver admit a value the operator then ignores (or the reverse).
    expect(resyncSchema.pattern).toBe(DURATION_PATTERN);
    expect(resyncSchema['x-kubernetes-validations'][0].rule).toContain(`self.matches('${DURATION_PATTERN}')`);
  });

  const accepted: Array<[string, number, string]> = [
    ['10m', 600_000, 'the common case'],
    ['1h30m', 5_400_000, 'terms add up'],
    ['1.5h', 5_400_000, 'a decimal fraction'],
    ['60000000000ns', 60_000, 'nanoseconds, which the CRD accepts'],
    ['60000000us', 60_000, 'microseconds spelled us'],
    ['60000000µs', 60_000, 'microseconds spelled with the micro sign (U+00B5), as in the CRD pattern'],
    ['59s999ms1000us', 60_000, 'mixed small units compare exactly with the 1m bound'],
    ['0.0000000001s', 0, 'fractions below a nanosecond are dropped, as in Go'],
    ['1m0s', 60_000, 'a zero term'],
  ];
  it.each(accepted)('%s → %d ms (%s)', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  const rejected: Array<[string, string]> = [
    ['', 'empty'],
    ['10', 'no unit'],
    ['-1m', 'a sign, which the CRD pattern refuses'],
    ['.5h', 'a leading dot, which the CRD pattern refuses (Go would accept it)'],
    ['1d', 'days are not a Go unit'],
    ['10 m', 'a space'],
    ['1μs', 'the Greek mu (U+03BC): Go accepts it, but the CRD pattern does not'],
    ['3000000h', 'more than Go’s largest duration'],
  ];
  it.each(rejected)('rejects %j (%s)', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
    expect(new RegExp(DURATION_PATTERN).test(text) && text !== '3000000h').toBe(false);
  });
});
