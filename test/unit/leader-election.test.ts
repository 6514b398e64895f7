import { describe, expect, it } from '@jest/globals';
import {
  LeaderElector,
  LeaseConflictError,
  LeaseTimeoutError,
  type LeaseRecord,
  type LeaseStore,
  validateElectionTimings,
} from '../../src/runtime/leader-election.ts';
import { sleep } from '../../src/runtime/clock.ts';
import { FakeClock, settle } from './fake-clock.ts';

/** The apiserver side of one Lease: a record plus a resourceVersion that every write bumps. */
class FakeLeaseServer {
  record: LeaseRecord | null = null;
  version = 0;
  writes = 0;
  /** When set, every store call rejects with this error (an unreachable apiserver). */
  failing: Error | null = null;
}

/**
 * A LeaseStore over FakeLeaseServer with LeaseLock's stateful optimistic concurrency: an update carries the version
 * remembered when it was called, as a PUT carries its resourceVersion. With a clock it can be slow: a request can
 * reach the server late (requestDelayMs) or commit at once and have its answer held back (stallAnswersUntil). It
 * ignores the abort signal, like a transport that cannot cancel, so discarding late answers is the elector's job.
 */
class FakeLeaseStore implements LeaseStore {
  readonly #server: FakeLeaseServer;
  readonly #clock: FakeClock | undefined;
  #readVersion = -1;
  /** Calls reach the server this long after they are made. */
  requestDelayMs = 0;
  /** Calls made before this time commit at once but answer only then. */
  stallAnswersUntil = 0;
  /** When set, the next create/update commits and then stallAnswersUntil becomes now + this (a partition starts). */
  stallAfterNextWriteMs = 0;
  /** Every call as it reaches the server, with the clock time. */
  readonly log: Array<{ op: string; at: number }> = [];
  constructor(server: FakeLeaseServer, clock?: FakeClock) {
    this.#server = server;
    this.#clock = clock;
  }
  get(): Promise<LeaseRecord | null> {
    return this.#call('get', () => {
      this.#readVersion = this.#server.version;
      return this.#server.record === null ? null : structuredClone(this.#server.record);
    });
  }
  create(record: LeaseRecord): Promise<void> {
    return this.#call('create', () => {
      if (this.#server.record !== null) throw new LeaseConflictError('already exists');
      this.#write(record);
    });
  }
  update(record: LeaseRecord): Promise<void> {
    const version = this.#readVersion;
    return this.#call('update', () => {
      if (this.#server.record === null) throw new Error('not found');
      if (version !== this.#server.version) throw new LeaseConflictError('version mismatch');
      this.#write(record);
    });
  }
  async #call<T>(op: string, serve: () => T): Promise<T> {
    const clock = this.#clock;
    if (clock !== undefined && this.requestDelayMs > 0) await sleep(clock, this.requestDelayMs);
    this.#check();
    this.log.push({ op, at: clock?.now() ?? 0 });
    const outcome = ((): { ok: true; value: T } | { ok: false; err: unknown } => {
      try {
        return { ok: true, value: serve() };
      } catch (err: unknown) {
        return { ok: false, err };
      }
    })();
    if (clock !== undefined && op !== 'get' && this.stallAfterNextWriteMs > 0) {
      this.stallAnswersUntil = clock.now() + this.stallAfterNextWriteMs;
      this.stallAfterNextWriteMs = 0;
    }
    if (clock !== undefined && clock.now() < this.stallAnswersUntil) {
      await sleep(clock, this.stallAnswersUntil - clock.now());
    }
    if (!outcome.ok) throw outcome.err;
    return outcome.value;
  }
  describe(): string {
    return 'lease test/fake';
  }
  #write(record: LeaseRecord): void {
    this.#server.record = structuredClone(record);
    this.#server.version++;
    this.#server.writes++;
    this.#readVersion = this.#server.version;
  }
  #check(): void {
    if (this.#server.failing !== null) throw this.#server.failing;
  }
}

function elector(server: FakeLeaseServer, clock: FakeClock, identity: string) {
  const events: string[] = [];
  const e = new LeaderElector({
    store: new FakeLeaseStore(server),
    identity,
    clock,
    random: () => 0,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
  });
  return { e, events };
}

// structuredClone yields Dates of another realm under Jest's vm, so check by type rather than instanceof.
const iso = (t: Date | string | undefined) => (typeof t === 'string' || t === undefined ? t : t.toISOString());

describe('validateElectionTimings', () => {
  const rows: Array<{ why: string; t: [number, number, number]; ok: boolean }> = [
    { why: 'the client-go defaults are valid', t: [15_000, 10_000, 2_000], ok: true },
    { why: 'the leader must give up before others may take over', t: [10_000, 10_000, 2_000], ok: false },
    { why: 'a renew round needs room for a jittered retry', t: [15_000, 2_400, 2_000], ok: false },
    { why: 'a zero retry period would spin', t: [15_000, 10_000, 0], ok: false },
  ];
  it.each(rows)('$why', ({ t, ok }) => {
    const check = () => validateElectionTimings(...t);
    if (ok) expect(check).not.toThrow();
    else expect(check).toThrow(RangeError);
  });
});

describe('LeaderElector.tryAcquireOrRenew', () => {
  it('acquires a missing lease by creating it with acquireTime = renewTime = now and 0 transitions', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const { e } = elector(server, clock, 'a');
    expect(await e.tryAcquireOrRenew()).toBe(true);
    expect(server.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(iso(server.record?.acquireTime)).toBe(new Date(clock.now()).toISOString());
  });

  it('acquires an empty (released) lease, counting a transition', async () => {
    const server = new FakeLeaseServer();
    server.record = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 };
    const { e } = elector(server, new FakeClock(), 'a');
    expect(await e.tryAcquireOrRenew()).toBe(true);
    expect(server.record).toMatchObject({ holderIdentity: 'a', leaseTransitions: 4 });
  });

  it('a renewal keeps acquireTime and leaseTransitions and moves renewTime', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const { e } = elector(server, clock, 'a');
    await e.tryAcquireOrRenew();
    const acquired = iso(server.record?.acquireTime);
    await clock.advance(2_000);
    expect(await e.tryAcquireOrRenew()).toBe(true);
    expect(iso(server.record?.acquireTime)).toBe(acquired);
    expect(iso(server.record?.renewTime)).toBe(new Date(clock.now()).toISOString());
    expect(server.record?.leaseTransitions).toBe(0);
  });

  it('passes MicroTime strings read from the store back unchanged on renewal', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const micro = '2026-11-28T10:00:00.123456Z';
    server.record = {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: micro,
      renewTime: micro,
      leaseTransitions: 2,
    };
    const { e } = elector(server, clock, 'a');
    expect(await e.tryAcquireOrRenew()).toBe(true); // slow path: it is our own record
    expect(server.record?.acquireTime).toBe(micro);
    expect(server.record?.leaseTransitions).toBe(2);
  });

  it('does not take over while the lease is valid by local observation, even if renewTime looks ancient', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    // The other holder's clock is far behind ours: by renewTime it expired a day ago.
    const old = new Date(clock.now() - 86_400_000).toISOString();
    server.record = {
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      acquireTime: old,
      renewTime: old,
      leaseTransitions: 0,
    };
    const { e } = elector(server, clock, 'a');
    expect(await e.tryAcquireOrRenew()).toBe(false); // first sight starts the local observation window
    await clock.advance(14_999);
    expect(await e.tryAcquireOrRenew()).toBe(false);
    expect(server.record?.holderIdentity).toBe('b');
  });

  it('a holder that keeps renewing is never taken over, because each change restarts the observation window', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const b = elector(server, clock, 'b').e;
    const a = elector(server, clock, 'a').e;
    await b.tryAcquireOrRenew();
    for (let i = 0; i < 10; i++) {
      expect(await a.tryAcquireOrRenew()).toBe(false);
      await clock.advance(10_000);
      expect(await b.tryAcquireOrRenew()).toBe(true);
    }
    expect(server.record?.holderIdentity).toBe('b');
  });

  it('takes over once the lease expired by local observation, incrementing leaderTransitions', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const now = new Date(clock.now()).toISOString();
    server.record = {
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 5,
    };
    const { e } = elector(server, clock, 'a');
    expect(await e.tryAcquireOrRenew()).toBe(false);
    await clock.advance(15_000);
    expect(await e.tryAcquireOrRenew()).toBe(true);
    expect(server.record).toMatchObject({ holderIdentity: 'a', leaseTransitions: 6 });
    expect(iso(server.record?.acquireTime)).toBe(new Date(clock.now()).toISOString());
  });

  it('of two candidates racing for an expired lease only one wins (optimistic concurrency)', async () => {
    const server = new FakeLeaseServer();
    server.record = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 };
    const clock = new FakeClock();
    const a = elector(server, clock, 'a').e;
    const b = elector(server, clock, 'b').e;
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(server.record?.leaseTransitions).toBe(1);
  });

  it('a store error is a failed attempt, not a throw', async () => {
    const server = new FakeLeaseServer();
    server.failing = new Error('connection refused');
    const { e } = elector(server, new FakeClock(), 'a');
    expect(await e.tryAcquireOrRenew()).toBe(false);
  });
});

describe('LeaderElector.run', () => {
  it('leads, renews every retry period, and stops leading when renewals fail for the renew deadline', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const { e, events } = elector(server, clock, 'a');
    const done = e.run();
    await settle();
    expect(events).toEqual(['started']);
    expect(e.isLeader()).toBe(true);
    await clock.advance(6_000);
    expect(server.writes).toBe(4); // create + 3 renewals at 2 s intervals
    server.failing = new Error('apiserver unreachable');
    await clock.advance(9_999);
    expect(events).toEqual(['started']); // still within the 10 s renew deadline
    await clock.advance(2_001);
    await done;
    expect(events).toEqual(['started', 'stopped:lost']);
    expect(e.isLeader()).toBe(false);
  });

  it('a hung renew request does not extend leadership past the renew deadline', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const store = new FakeLeaseStore(server);
    let hang = false;
    const hanging: LeaseStore = {
      get: () => (hang ? new Promise(() => undefined) : store.get()),
      create: (r) => store.create(r),
      update: (r) => (hang ? new Promise(() => undefined) : store.update(r)),
      describe: () => store.describe(),
    };
    const events: string[] = [];
    const e = new LeaderElector({
      store: hanging,
      identity: 'a',
      clock,
      random: () => 0,
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
    });
    const done = e.run();
    await settle();
    hang = true;
    await clock.advance(12_000);
    await done;
    expect(events).toEqual(['started', 'stopped:lost']);
  });

  it('a standby campaigns every retry period and takes over after the leader releases', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const a = elector(server, clock, 'a');
    const b = elector(server, clock, 'b');
    const runA = a.e.run();
    await settle();
    const runB = b.e.run();
    await clock.advance(20_000);
    expect(a.e.isLeader()).toBe(true);
    expect(b.events).toEqual([]); // a keeps renewing, so b never sees it expire
    expect(await a.e.release()).toBe(true);
    await runA;
    expect(a.events).toEqual(['started', 'stopped:stopped']); // a deliberate stop is not a loss
    expect(server.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    await clock.advance(3_000); // b's next attempt sees the released (empty) lease
    expect(b.events).toEqual(['started']);
    expect(server.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    b.e.stop();
    await runB;
  });

  it('a standby takes over after the leader vanishes without releasing (crash), once the lease expires locally', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const a = elector(server, clock, 'a');
    const b = elector(server, clock, 'b');
    const runA = a.e.run();
    await settle();
    const runB = b.e.run();
    await clock.advance(4_000);
    a.e.stop(); // crash: no more renewals, no release
    await runA;
    await clock.advance(14_000);
    expect(b.events).toEqual([]);
    await clock.advance(4_000);
    expect(b.events).toEqual(['started']);
    expect(server.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    b.e.stop();
    await runB;
  });

  it('release() by a non-leader writes nothing', async () => {
    const server = new FakeLeaseServer();
    const now = new Date().toISOString();
    server.record = {
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    const { e } = elector(server, new FakeClock(), 'a');
    await e.tryAcquireOrRenew();
    const writes = server.writes;
    expect(await e.release()).toBe(false);
    expect(server.writes).toBe(writes);
  });
});

/** A wall clock that a test can step (NTP correction, VM resume) while timers and monotonic time run on `base`. */
function steppableWallClock(base: FakeClock) {
  let offset = 0;
  return {
    clock: {
      now: () => base.now() + offset,
      setTimer: base.setTimer.bind(base),
      clearTimer: base.clearTimer.bind(base),
    },
    step: (ms: number) => {
      offset += ms;
    },
  };
}

function electorWithWall(server: FakeLeaseServer, base: FakeClock, identity: string) {
  const wall = steppableWallClock(base);
  const events: string[] = [];
  const e = new LeaderElector({
    store: new FakeLeaseStore(server),
    identity,
    clock: wall.clock,
    monotonic: () => base.now(),
    random: () => 0,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
  });
  return { e, events, step: wall.step };
}

describe('LeaderElector on a monotonic clock (client-go observedTime)', () => {
  const rows = [
    { why: 'a standby whose wall clock jumps an hour ahead must not think the live lease expired', stepMs: 3_600_000 },
    { why: 'a standby whose wall clock jumps back must not think so either', stepMs: -3_600_000 },
  ];
  it.each(rows)('$why', async ({ stepMs }) => {
    const server = new FakeLeaseServer();
    const base = new FakeClock();
    const b = electorWithWall(server, base, 'b');
    const a = electorWithWall(server, base, 'a');
    expect(await b.e.tryAcquireOrRenew()).toBe(true);
    expect(await a.e.tryAcquireOrRenew()).toBe(false); // a first sees b's record now
    a.step(stepMs);
    await base.advance(5_000);
    expect(await a.e.tryAcquireOrRenew()).toBe(false);
    expect(server.record?.holderIdentity).toBe('b');
    // Expiry still comes, 15 s of monotonic time after a last saw the record change.
    await base.advance(10_000);
    expect(await a.e.tryAcquireOrRenew()).toBe(true);
  });

  it('a leader whose wall clock jumps ahead keeps renewing instead of declaring its renew deadline passed', async () => {
    const server = new FakeLeaseServer();
    const base = new FakeClock();
    const a = electorWithWall(server, base, 'a');
    const run = a.e.run();
    await base.advance(3_000);
    expect(a.events).toEqual(['started']);
    a.step(3_600_000);
    await base.advance(30_000);
    expect(a.events).toEqual(['started']);
    expect(a.e.isLeader()).toBe(true);
    a.e.stop();
    await run;
  });
});

/** An elector over its own (possibly slow) FakeLeaseStore, recording its callbacks and log lines. */
function slowElector(server: FakeLeaseServer, clock: FakeClock, identity: string) {
  const store = new FakeLeaseStore(server, clock);
  const events: string[] = [];
  const logs: string[] = [];
  const e = new LeaderElector({
    store,
    identity,
    clock,
    random: () => 0,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
    log: { info: (_o, msg) => logs.push(msg), warn: (_o, msg) => logs.push(msg) },
  });
  return { e, events, logs, store };
}

describe('LeaderElector: every Lease request has a deadline and a late answer is discarded', () => {
  it('a standby whose acquire write committed but whose answer stalled past the lease duration never leads beside the one that took over', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const b = slowElector(server, clock, 'b');
    expect(await b.e.tryAcquireOrRenew()).toBe(true); // b holds the lease, then vanishes without renewing
    const a = slowElector(server, clock, 'a');
    const runA = a.e.run();
    await settle(); // a first sees b's record at t=0, so b's lease expires for a at t=15 s
    // At t=16 s a's takeover write commits, and from then on no answer reaches a until t=40 s.
    a.store.stallAfterNextWriteMs = 24_000;
    await clock.advance(16_000);
    expect(server.record?.holderIdentity).toBe('a');
    const c = slowElector(server, clock, 'c');
    const runC = c.e.run(); // c sees a's committed record and, as a renews no more, takes over 15 s later
    let overlap = false;
    for (let t = 0; t < 40; t++) {
      await clock.advance(1_000);
      if (a.e.isLeader() && c.e.isLeader()) overlap = true;
    }
    expect(c.events).toEqual(['started']);
    expect(server.record?.holderIdentity).toBe('c');
    expect(overlap).toBe(false);
    expect(a.events).toEqual([]); // a's answer arrived at t=40 s, long after its deadline, and was dropped
    a.e.stop();
    c.e.stop();
    await Promise.all([runA, runC]);
  });

  it('a read that never answers fails the campaign attempt after renewDeadline/2, and campaigning goes on', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const a = slowElector(server, clock, 'a');
    a.store.stallAnswersUntil = Number.POSITIVE_INFINITY;
    const attempt = a.e.tryAcquireOrRenew();
    let result: boolean | undefined;
    void attempt.then((ok) => {
      result = ok;
    });
    await clock.advance(4_999);
    expect(result).toBeUndefined();
    await clock.advance(1);
    expect(result).toBe(false);
    a.store.stallAnswersUntil = 0;
    const run = a.e.run();
    await clock.advance(1);
    expect(a.events).toEqual(['started']);
    a.e.stop();
    await run;
  });

  it('a release whose write never answers gives up after the request deadline and says it did not release', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const a = slowElector(server, clock, 'a');
    expect(await a.e.tryAcquireOrRenew()).toBe(true);
    a.store.stallAnswersUntil = Number.POSITIVE_INFINITY;
    a.store.requestDelayMs = 0;
    let released: boolean | undefined;
    void a.e.release().then((ok) => {
      released = ok;
    });
    await clock.advance(5_000);
    expect(released).toBe(false);
    expect(a.logs).not.toContain('released leader lease');
  });

  it('rejects a request timeout that is not below the renew deadline', () => {
    const make = (requestTimeoutMs: number) =>
      new LeaderElector({
        store: new FakeLeaseStore(new FakeLeaseServer()),
        identity: 'a',
        requestTimeoutMs,
        onStartedLeading: () => undefined,
        onStoppedLeading: () => undefined,
      });
    expect(() => make(10_000)).toThrow(RangeError);
    expect(() => make(0)).toThrow(RangeError);
    expect(() => make(9_999)).not.toThrow();
  });

  it('a timed-out request is reported as LeaseTimeoutError in the log, not as a conflict', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const warnings: object[] = [];
    const store = new FakeLeaseStore(server, clock);
    store.stallAnswersUntil = Number.POSITIVE_INFINITY;
    const e = new LeaderElector({
      store,
      identity: 'a',
      clock,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
      log: { info: () => undefined, warn: (o) => warnings.push(o) },
    });
    const attempt = e.tryAcquireOrRenew();
    await clock.advance(5_000);
    expect(await attempt).toBe(false);
    expect(JSON.stringify(warnings)).toContain(new LeaseTimeoutError('x').name);
  });
});

describe('LeaderElector: the leader counts its term from when its write was sent', () => {
  it('a renew answered late still ends leadership before a standby that saw the write at once may take over', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const timings = { leaseDurationMs: 12_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
    const make = (identity: string) => {
      const store = new FakeLeaseStore(server, clock);
      const events: string[] = [];
      const e = new LeaderElector({
        store,
        identity,
        clock,
        random: () => 0,
        ...timings,
        onStartedLeading: () => events.push('started'),
        onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
      });
      return { e, events, store };
    };
    const a = make('a');
    const runA = a.e.run();
    await settle();
    const b = make('b');
    const runB = b.e.run();
    await clock.advance(3_000);
    a.store.stallAfterNextWriteMs = 4_900; // the renew at t=4 s commits at once; a hears back at t=8.9 s
    await clock.advance(6_000);
    a.store.requestDelayMs = Number.POSITIVE_INFINITY; // then a's requests stop reaching the apiserver
    let overlap = false;
    for (let i = 0; i < 40; i++) {
      await clock.advance(500);
      if (a.e.isLeader() && b.e.isLeader()) overlap = true;
    }
    expect(a.events).toEqual(['started', 'stopped:lost']);
    expect(b.events).toEqual(['started']);
    expect(overlap).toBe(false);
    b.e.stop();
    await Promise.all([runA, runB]);
  });
});

describe('LeaderElector.release during a renew (SIGTERM mid-renew)', () => {
  /** a leads; its next renew is made at t=2 s and reaches the apiserver `delayMs` later. */
  async function leaderMidRenew(delayMs: number) {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const a = slowElector(server, clock, 'a');
    const run = a.e.run();
    await settle();
    expect(a.events).toEqual(['started']);
    a.store.requestDelayMs = delayMs;
    await clock.advance(2_500); // the renew left at t=2 s and is on its way
    return { server, clock, a, run };
  }

  it('a renew in flight when release begins cannot take the lease back: the pod exits with the lease empty', async () => {
    const { server, clock, a, run } = await leaderMidRenew(1_000);
    const releasedAt = clock.now();
    const released = a.e.release();
    await clock.advance(5_000);
    expect(await released).toBe(true);
    await run;
    expect(server.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(a.logs).toContain('released leader lease');
    // After release began: the in-flight renew lands, then exactly one write, the release; nothing after it.
    const after = a.store.log.filter((c) => c.at > releasedAt).map((c) => c.op);
    expect(after).toEqual(['update', 'update']);
    expect(a.events).toEqual(['started', 'stopped:stopped']);
    await clock.advance(30_000);
    expect(server.record?.holderIdentity).toBe('');
  });

  it('a renew that loses to the release (409) does not re-read and re-acquire the emptied lease', async () => {
    // The renew reaches the apiserver at t=10 s, after its deadline and after the release write.
    const { server, clock, a, run } = await leaderMidRenew(8_000);
    a.store.requestDelayMs = 0;
    const releasedAt = clock.now();
    const released = a.e.release();
    await clock.advance(20_000);
    expect(await released).toBe(true);
    await run;
    expect(server.record?.holderIdentity).toBe('');
    // After release began: the release write (t=7 s, once the renew's deadline passed) and the late renew landing
    // (t=10 s, refused with 409); no re-read, no re-acquire.
    expect(a.store.log.filter((c) => c.at > releasedAt)).toEqual([
      { op: 'update', at: releasedAt + 4_500 },
      { op: 'update', at: releasedAt + 7_500 },
    ]);
    await clock.advance(30_000);
    expect(server.record?.holderIdentity).not.toBe('a');
  });

  it('an acquire in flight when stop() comes does not start leading, and release hands that lease back', async () => {
    const server = new FakeLeaseServer();
    const clock = new FakeClock();
    const a = slowElector(server, clock, 'a');
    a.store.requestDelayMs = 1_000;
    const run = a.e.run();
    await clock.advance(1_500); // the read answered at t=1 s; the create is on its way and lands at t=2 s
    const released = a.e.release();
    await clock.advance(10_000);
    await run;
    expect(a.events).toEqual([]);
    expect(await released).toBe(true);
    expect(server.record?.holderIdentity).toBe('');
  });
});
