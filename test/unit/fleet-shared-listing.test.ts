// Batched discovery (docs/adr/0027): sets of one identity in one region share one listing. Each row says why.
import { describe, expect, it } from '@jest/globals';
import { nextTick, SharedListing, tickStart } from '../../src/fleet/shared-listing.ts';

function world() {
  let now = 1_000_000;
  const calls: string[] = [];
  const pending: Array<{ resolve: (v: string[]) => void; reject: (e: unknown) => void }> = [];
  const shared = new SharedListing<string>({ now: () => now });
  const listing = {
    // notBefore defaults to the start of the run: any listing of this world is recent enough.
    get: (identity: string, region: string, signal: AbortSignal, notBefore = 0) =>
      shared.get(
        identity,
        region,
        signal,
        () => {
          calls.push(`${identity}/${region}`);
          return new Promise<string[]>((resolve, reject) => pending.push({ resolve, reject }));
        },
        notBefore,
      ),
  };
  return { listing, calls, pending, advance: (ms: number) => (now += ms), now: () => now };
}
const signal = () => new AbortController().signal;

describe('SharedListing', () => {
  it('ten sets due at once with one identity in one region make one listing, and all get its images', async () => {
    const w = world();
    const all = Array.from({ length: 10 }, () => w.listing.get('static:LTAIa', 'cn-hangzhou', signal()));
    w.pending[0]?.resolve(['m-1', 'm-2']);
    expect(await Promise.all(all)).toEqual(Array.from({ length: 10 }, () => ['m-1', 'm-2']));
    expect(w.calls).toEqual(['static:LTAIa/cn-hangzhou']);
  });

  it("another identity or another region is another listing: one account never sees another one's images", async () => {
    const w = world();
    void w.listing.get('static:LTAIa', 'cn-hangzhou', signal());
    void w.listing.get('static:LTAIb', 'cn-hangzhou', signal());
    void w.listing.get('static:LTAIa', 'cn-beijing', signal());
    expect(w.calls).toEqual(['static:LTAIa/cn-hangzhou', 'static:LTAIb/cn-hangzhou', 'static:LTAIa/cn-beijing']);
  });

  it('a finished listing serves every set due at its tick, however long ago in the tick it finished', async () => {
    const w = world();
    const tick = tickStart(w.now(), 30_000);
    const first = w.listing.get('default', 'cn-hangzhou', signal(), tick);
    w.pending[0]?.resolve(['m-1']);
    await first;
    w.advance(20_000);
    expect(await w.listing.get('default', 'cn-hangzhou', signal(), tick)).toEqual(['m-1']);
    expect(w.calls).toHaveLength(1);
  });

  it('the next tick asks for a listing started since it, so a build published in between is seen then', async () => {
    const w = world();
    const first = w.listing.get('default', 'cn-hangzhou', signal(), tickStart(w.now(), 30_000));
    w.pending[0]?.resolve(['m-1']);
    await first;
    w.advance(30_000);
    void w.listing.get('default', 'cn-hangzhou', signal(), tickStart(w.now(), 30_000));
    expect(w.calls).toHaveLength(2);
  });

  it('a listing in flight that started after a new set arrived is joined: the sets of one apply list once', async () => {
    const w = world();
    const arrived = w.now();
    w.advance(1_000);
    const a = w.listing.get('default', 'cn-hangzhou', signal(), arrived);
    w.advance(12_000);
    const b = w.listing.get('default', 'cn-hangzhou', signal(), arrived);
    w.pending[0]?.resolve(['m-1']);
    expect(await Promise.all([a, b])).toEqual([['m-1'], ['m-1']]);
    expect(w.calls).toHaveLength(1);
  });

  it('input that arrived after a listing started (an edit) lists afresh: a build made just before is seen', async () => {
    const w = world();
    const first = w.listing.get('default', 'cn-hangzhou', signal(), w.now());
    w.advance(1);
    const second = w.listing.get('default', 'cn-hangzhou', signal(), w.now());
    w.pending[0]?.resolve(['m-1']);
    w.pending[1]?.resolve(['m-2', 'm-1']);
    expect(await first).toEqual(['m-1']);
    expect(await second).toEqual(['m-2', 'm-1']);
    expect(w.calls).toHaveLength(2);
  });

  it('a failed listing is not kept: the next set lists again instead of inheriting the failure', async () => {
    const w = world();
    const first = w.listing.get('default', 'cn-hangzhou', signal());
    w.pending[0]?.reject(new Error('throttled'));
    await expect(first).rejects.toThrow('throttled');
    void w.listing.get('default', 'cn-hangzhou', signal());
    expect(w.calls).toHaveLength(2);
  });

  it("one set's cancelled pass does not fail the others that joined its listing", async () => {
    const w = world();
    const cancel = new AbortController();
    const a = w.listing.get('default', 'cn-hangzhou', cancel.signal);
    const b = w.listing.get('default', 'cn-hangzhou', signal());
    cancel.abort(new DOMException('cancelled', 'AbortError'));
    w.pending[0]?.resolve(['m-1']);
    await expect(a).rejects.toThrow('cancelled');
    expect(await b).toEqual(['m-1']);
  });
});

describe('nextTick', () => {
  it('tickStart is the tick now falls in: the next tick minus one interval', () => {
    expect(tickStart(1_000_000, 180_000)).toBe(900_000);
    expect(tickStart(1_000_000, 180_000) + 180_000).toBe(1_000_000 + nextTick(1_000_000, 180_000));
  });

  it.each([
    [1_000_000, 180_000, 80_000, 'aligned to the wall clock: every set with a 3m interval wakes at the same instant'],
    [1_080_000, 180_000, 180_000, 'on a tick exactly, the next one is a full interval away'],
    [5, 10, 5, 'small intervals too'],
  ])('now %d, interval %d → %d (%s)', (now, interval, want) => {
    expect(nextTick(now, interval)).toBe(want);
  });
});
