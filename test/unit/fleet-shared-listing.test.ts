// Batched discovery (docs/adr/0027): sets of one identity in one region share one listing. Each row says why.
import { describe, expect, it } from '@jest/globals';
import { nextTick, SharedListing } from '../../src/fleet/shared-listing.ts';

function world() {
  let now = 1_000_000;
  const calls: string[] = [];
  const pending: Array<{ resolve: (v: string[]) => void; reject: (e: unknown) => void }> = [];
  const shared = new SharedListing<string>({ ttlMs: 5_000, now: () => now });
  const listing = {
    get: (identity: string, region: string, signal: AbortSignal, fresh = false) =>
      shared.get(
        identity,
        region,
        signal,
        () => {
          calls.push(`${identity}/${region}`);
          return new Promise<string[]>((resolve, reject) => pending.push({ resolve, reject }));
        },
        fresh,
      ),
  };
  return { listing, calls, pending, advance: (ms: number) => (now += ms) };
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

  it('a finished listing is reused only while it is younger than the ttl, so a new build is seen at the next tick', async () => {
    const w = world();
    const first = w.listing.get('default', 'cn-hangzhou', signal());
    w.pending[0]?.resolve(['m-1']);
    await first;
    w.advance(4_999);
    expect(await w.listing.get('default', 'cn-hangzhou', signal())).toEqual(['m-1']);
    w.advance(1);
    void w.listing.get('default', 'cn-hangzhou', signal());
    expect(w.calls).toHaveLength(2);
  });

  it('new input (a created or edited set, a reconcile request) lists afresh: a build made just before is seen', async () => {
    const w = world();
    const first = w.listing.get('default', 'cn-hangzhou', signal());
    w.pending[0]?.resolve(['m-1']);
    await first;
    const second = w.listing.get('default', 'cn-hangzhou', signal(), true);
    w.pending[1]?.resolve(['m-2', 'm-1']);
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
  it.each([
    [1_000_000, 180_000, 80_000, 'aligned to the wall clock: every set with a 3m interval wakes at the same instant'],
    [1_080_000, 180_000, 180_000, 'on a tick exactly, the next one is a full interval away'],
    [5, 10, 5, 'small intervals too'],
  ])('now %d, interval %d → %d (%s)', (now, interval, want) => {
    expect(nextTick(now, interval)).toBe(want);
  });
});
