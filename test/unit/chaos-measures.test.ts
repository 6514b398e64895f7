// The chaos suite's judges must be able to fail: overlaps and violations computed from synthetic call logs.
import { describe, expect, it } from '@jest/globals';
import { countOverlaps, grantViolations, SpecHistory } from '../chaos/chaos.ts';

type Call = Parameters<typeof countOverlaps>[0][number];
let seq = 0;
const write = (key: string): Call => ({
  seq: ++seq,
  at: new Date(1_800_000_000_000 + seq * 1000).toISOString(),
  action: 'ModifyImageSharePermission',
  accessKeyId: key,
  regionId: 'cn-hangzhou',
  imageId: 'm-x',
  params: {},
  status: 200,
  code: 'OK',
});

describe('countOverlaps', () => {
  it.each([
    ['one instance after another is a clean handover', ['a', 'a', 'b', 'b', 'c'], 0],
    ['the old instance writing after the new one started is an overlap', ['a', 'b', 'a'], 1],
    ['every stale write counts', ['a', 'b', 'a', 'b', 'a'], 2],
    ['an instance that started earlier than the newest one writing after it counts too', ['a', 'b', 'c', 'b'], 1],
  ] as const)('%s', (_why, keys, overlaps) => {
    expect(countOverlaps(keys.map(write))).toBe(overlaps);
  });

  it('ignores failed calls and reads: only successful writes make a writer', () => {
    const failed = { ...write('a'), code: 'ServiceUnavailable' };
    const read = { ...write('a'), action: 'DescribeImages' };
    expect(countOverlaps([write('a'), write('b'), failed, read])).toBe(0);
  });
});

describe('grantViolations', () => {
  const T = 1_800_000_000_000;
  const grant = (atMs: number, account: string): Call => ({
    ...write('a'),
    at: new Date(T + atMs).toISOString(),
    params: { 'AddAccount.1': account },
  });
  const history = () => {
    const h = new SpecHistory();
    h.set('m-x', ['1'], T);
    h.set('m-x', ['2'], T + 10_000); // 1 removed, 2 added at 10 s
    return h;
  };
  it.each([
    ['a grant of an account in the spec is fine', grant(5_000, '1'), 0],
    ['a grant just after the removal is one pass of latency, not a violation', grant(12_000, '1'), 0],
    ['a grant long after the removal is a stale write', grant(20_000, '1'), 1],
    ['a grant of an account that was never in the spec', grant(5_000, '3'), 1],
  ] as const)('%s', (_why, call, n) => {
    expect(grantViolations([call], history())).toHaveLength(n);
  });
});
