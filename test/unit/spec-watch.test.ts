// SpecWatch: a pass's write signal fires when the spec it read is superseded, and only then.
import { describe, expect, it } from '@jest/globals';
import { SpecWatch } from '../../src/runtime/spec-watch.ts';

describe('SpecWatch', () => {
  const rows = [
    { why: 'a newer generation means the spec the pass read is stale', seen: 4, fires: true },
    { why: 'the same generation (a status or label write) changes nothing the pass read', seen: 3, fires: false },
    { why: 'an older generation from a late event is not newer', seen: 2, fires: false },
    { why: 'the object is gone', seen: undefined, fires: true },
  ];
  it.each(rows)('$why', ({ seen, fires }) => {
    const w = new SpecWatch();
    const signal = w.signalFor('ns/a', 3);
    w.observed('ns/a', seen);
    expect(signal.aborted).toBe(fires);
  });

  it('keeps one entry per key and drops it once fired', () => {
    const w = new SpecWatch();
    const first = w.signalFor('ns/a', 1);
    const second = w.signalFor('ns/a', 2);
    w.signalFor('ns/b', 1);
    expect(w.size()).toBe(2);
    w.observed('ns/a', 3);
    expect([first.aborted, second.aborted, w.size()]).toEqual([false, true, 1]);
    w.observed('ns/other', 9);
    expect(w.size()).toBe(1);
  });

  // A pass's entry holds its AbortController and every signal composed from it: kept after the pass, it was one
  // set of signals per object for ever (issue 19).
  const released = [
    { why: 'the pass that registered ends: its entry goes', release: 'own', size: 0 },
    {
      why: 'a pass that was replaced by a newer one for the key ends: the newer one keeps its entry',
      release: 'older',
      size: 1,
    },
    { why: 'no pass ended yet: the entry stays, so a newer generation still stops the pass', release: 'none', size: 1 },
  ] as const;
  it.each(released)('$why', ({ release, size }) => {
    const w = new SpecWatch();
    const older = w.signalFor('ns/a', 1);
    const own = w.signalFor('ns/a', 1);
    if (release !== 'none') w.release('ns/a', release === 'own' ? own : older);
    expect(w.size()).toBe(size);
    w.observed('ns/a', 2);
    expect(own.aborted).toBe(release !== 'own');
  });

  const registered = [
    {
      why: 'an edit the informer saw after the pass read the object, but before the pass registered, still stops the pass',
      seen: [3, 4],
      read: 3,
      fires: true,
    },
    {
      why: 'the generation the pass read, seen before it registered, is not newer',
      seen: [2, 3],
      read: 3,
      fires: false,
    },
    {
      why: 'a deleted and recreated key starts over: the old generation is forgotten with the object',
      seen: [7, undefined, 1],
      read: 1,
      fires: false,
    },
  ];
  it.each(registered)('$why', ({ seen, read, fires }) => {
    const w = new SpecWatch();
    for (const g of seen) w.observed('ns/a', g);
    expect(w.signalFor('ns/a', read).aborted).toBe(fires);
  });
});
