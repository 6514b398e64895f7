// The benchmark runs the operator under the chart's memory limit (test/bench/memory-limit.ts): the quantity it reads
// must be the bytes Kubernetes means, and the chart's limit must be found where the chart keeps it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { chartMemoryLimit, memoryCgroup, quantityBytes } from '../bench/memory-limit.ts';

describe('quantityBytes', () => {
  it.each([
    ['1Gi', 1024 ** 3],
    ['512Mi', 512 * 1024 ** 2],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['64Ki', 65536],
    ['800M', 800e6],
    ['1G', 1e9],
    ['1073741824', 1073741824],
  ])('%s is %d bytes', (q, bytes) => expect(quantityBytes(q)).toBe(bytes));

  it.each(['', 'Gi', '1 GB', '-1Gi', '1gi', 'lots'])('%j is refused', (q) =>
    expect(() => quantityBytes(q)).toThrow(/not a memory quantity/),
  );
});

describe('chartMemoryLimit', () => {
  it('reads resources.limits.memory, not the request', () =>
    expect(chartMemoryLimit('resources:\n  requests:\n    memory: 768Mi\n  limits:\n    memory: 1Gi\n')).toBe('1Gi'));

  it('refuses values without a limit', () =>
    expect(() => chartMemoryLimit('resources:\n  requests:\n    memory: 768Mi\n')).toThrow(
      /no resources.limits.memory/,
    ));

  it("finds the chart's own default", () =>
    expect(
      quantityBytes(
        chartMemoryLimit(
          readFileSync(new URL('../../charts/imageshare-operator/values.yaml', import.meta.url), 'utf8'),
        ),
      ),
    ).toBeGreaterThan(0));
});

describe('memoryCgroup', () => {
  it('says why when no cgroup can be made (a root that is not a cgroup file system)', () => {
    const made = memoryCgroup(1024 ** 3, '/nonexistent/cgroup-root');
    expect(made).toEqual({ unavailable: expect.stringContaining('/nonexistent/cgroup-root/memory/imageshare-bench-') });
  });
});
