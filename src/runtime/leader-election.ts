// Lease-based leader election with client-go's semantics (tools/leaderelection), over a small LeaseStore so the
// algorithm is unit-tested with a fake store and injected clock, and run for real with KubeLeaseStore
// (src/kube/lease-store.ts). This file does not import @kubernetes/client-node.
//
// Safety rests on two things: every write is an optimistic-concurrency update of the version last read (so two
// candidates cannot both win a round), and a lease held by someone else is considered valid until
// leaseDuration has passed since this replica last *saw the record change*, measured on its own monotonic clock
// (client-go's observedTime). The holder's renewTime is never compared with the local clock, so clock skew
// between pods cannot cause a takeover, and a wall-clock step (NTP, a VM resume) on a standby cannot either: every
// interval (lease expiry, renew deadline) is a difference of monotonic readings. The wall clock only stamps the
// acquireTime/renewTime fields, which are informational.
//
// Every store call has a deadline (requestTimeout, renewDeadline/2 as in client-go's leader election client) and a
// result that arrives after it is discarded, so a stalled response can never make a second leader. The leader's own
// lease is counted from when its write was *sent*. Once stop() or release() has begun, no attempt starts a call.
import { type Clock, realClock, sleep } from '../runtime/clock.ts';

/**
 * The lease fields the algorithm reads and writes. Times read from the store are passed back unchanged (they are
 * MicroTime strings from the apiserver); new times are Dates, which the store serialises with six fraction digits.
 */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: Date | string | undefined;
  renewTime?: Date | string | undefined;
  leaseTransitions: number;
}

/** Thrown by LeaseStore.create/update when the write lost an optimistic-concurrency race (HTTP 409). */
export class LeaseConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LeaseConflictError';
  }
}

/** A Lease call that got no answer within the request deadline; its result, if one comes later, is ignored. */
export class LeaseTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseTimeoutError';
  }
}

/** A campaign or renew step that was not started because stop() or release() had begun. */
export class LeaseStoppedError extends Error {
  constructor() {
    super('leader election stopped');
    this.name = 'LeaseStoppedError';
  }
}

/**
 * One Lease object. Stateful like client-go's LeaseLock: update() writes over the version that the last
 * get/create/update returned, so a concurrent write makes it fail with LeaseConflictError. `signal` aborts when the
 * call's deadline passes: the store should cancel the request and must not remember a version it returns late.
 */
export interface LeaseStore {
  /** The current record, or null when the Lease does not exist. Remembers the version read. */
  get(signal: AbortSignal): Promise<LeaseRecord | null>;
  /** Creates the Lease; LeaseConflictError if it already exists. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<void>;
  /** Replaces the Lease spec at the remembered version; LeaseConflictError on a version mismatch. */
  update(record: LeaseRecord, signal: AbortSignal): Promise<void>;
  /** A description for logs, e.g. "lease imageshare-system/imageshare-operator". */
  describe(): string;
}

export interface ElectorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LeaderElectorOptions {
  store: LeaseStore;
  /** Unique per replica: the pod name, or hostname_uuid. */
  identity: string;
  /** Default 15 s. How long a non-renewed lease stays valid for the others. */
  leaseDurationMs?: number;
  /** Default 10 s. The leader gives up if it cannot renew for this long. */
  renewDeadlineMs?: number;
  /** Default 2 s. Time between attempts. */
  retryPeriodMs?: number;
  /** Default renewDeadline/2. The deadline of each Lease request; a later answer is discarded. */
  requestTimeoutMs?: number;
  /** Called once when this replica becomes leader. */
  onStartedLeading: () => void;
  /**
   * Called once when leadership ends. `reason` is 'lost' when renewals failed for renewDeadline (the operator must
   * exit at once), 'stopped' when stop()/release() ended it deliberately (e.g. during a graceful shutdown).
   */
  onStoppedLeading: (reason: StopReason) => void;
  /** Called when the observed holder changes (including to this replica). */
  onNewLeader?: (identity: string) => void;
  /** Timers, and the wall-clock time written into acquireTime/renewTime. Default: realClock. */
  clock?: Clock;
  /**
   * Milliseconds on a clock that never jumps, for every interval the algorithm measures. Default:
   * performance.now() when `clock` is the real clock, else `clock.now()` (a fake clock is its own monotonic time).
   */
  monotonic?: () => number;
  random?: () => number;
  log?: ElectorLogger;
}

export const JITTER_FACTOR = 1.2;

export const StopReason = { Lost: 'lost', Stopped: 'stopped' } as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];

const silent: ElectorLogger = { info: () => undefined, warn: () => undefined };

/**
 * Throws RangeError unless leaseDuration > renewDeadline > JITTER_FACTOR·retryPeriod > 0, client-go's rule: the
 * leader must give up before the others may take over, and each renew round needs room for a jittered retry.
 */
export function validateElectionTimings(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): void {
  if (!(retryPeriodMs > 0)) throw new RangeError('retryPeriod must be greater than zero');
  if (!(leaseDurationMs > renewDeadlineMs)) throw new RangeError('leaseDuration must be greater than renewDeadline');
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
    throw new RangeError(`renewDeadline must be greater than retryPeriod*${JITTER_FACTOR}`);
  }
}

export class LeaderElector {
  readonly #store: LeaseStore;
  readonly #identity: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #requestTimeoutMs: number;
  readonly #clock: Clock;
  readonly #monotonic: () => number;
  readonly #random: () => number;
  readonly #log: ElectorLogger;
  readonly #opts: LeaderElectorOptions;
  readonly #abort = new AbortController();
  #observed: LeaseRecord | null = null;
  #observedRaw = '';
  #observedTime = 0;
  /** Monotonic time at which our last successful write was sent. */
  #lastWriteSent = 0;
  #leading = false;
  #reportedLeader = '';
  /** The attempt (tryAcquireOrRenew) in progress, which release() lets finish or time out before it writes. */
  #inFlight: Promise<boolean> | null = null;
  #releasing: Promise<boolean> | null = null;

  /** Throws RangeError for invalid timings (see validateElectionTimings). */
  constructor(options: LeaderElectorOptions) {
    this.#opts = options;
    this.#store = options.store;
    this.#identity = options.identity;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? this.#renewDeadlineMs / 2;
    this.#clock = options.clock ?? realClock;
    const injected = options.clock;
    this.#monotonic = options.monotonic ?? (injected === undefined ? () => performance.now() : () => injected.now());
    this.#random = options.random ?? Math.random;
    this.#log = options.log ?? silent;
    if (options.identity === '') throw new RangeError('leader election identity must not be empty');
    validateElectionTimings(this.#leaseDurationMs, this.#renewDeadlineMs, this.#retryPeriodMs);
    if (!(this.#requestTimeoutMs > 0 && this.#requestTimeoutMs < this.#renewDeadlineMs)) {
      throw new RangeError('requestTimeout must be greater than zero and less than renewDeadline');
    }
  }

  /** True while this replica holds the lease (from the last successful acquire or renew). */
  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder this replica last observed ('' when none). */
  observedLeader(): string {
    return this.#observed?.holderIdentity ?? '';
  }

  /**
   * Campaigns until leadership is won, then renews until it is lost or stop() is called. Resolves when leadership
   * ended (onStoppedLeading has then been called) or when stopped before winning. Never rejects: store errors count
   * as failed attempts.
   */
  async run(): Promise<void> {
    const acquired = await this.#acquire();
    // An attempt that was in flight when stop() came does not start leading; release() hands its lease back.
    if (!acquired || this.#abort.signal.aborted) return;
    this.#leading = true;
    this.#log.info({ lease: this.#store.describe(), identity: this.#identity }, 'became leader');
    this.#safely(this.#opts.onStartedLeading);
    await this.#renewLoop();
    this.#leading = false;
    const reason = this.#abort.signal.aborted ? StopReason.Stopped : StopReason.Lost;
    this.#safely(() => this.#opts.onStoppedLeading(reason));
  }

  /** Stops campaigning and renewing (without releasing). run() then resolves. */
  stop(): void {
    this.#abort.abort();
  }

  /**
   * Stops, and if this replica holds the lease, hands it back at once: holderIdentity "" and
   * leaseDurationSeconds 1, keeping leaseTransitions (client-go ReleaseOnCancel). Only call this when the process
   * is about to exit and in-flight reconciles are done. Resolves true when the lease was released.
   */
  async release(): Promise<boolean> {
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  async #release(): Promise<boolean> {
    this.stop();
    // An in-flight renew or acquire settles (or times out, its late result discarded) before the release write, so
    // it cannot take the lease back afterwards; no new attempt starts once stopped.
    await this.#inFlight;
    const observed = this.#observed;
    if (observed === null || observed.holderIdentity !== this.#identity) return false;
    const now = new Date(this.#clock.now());
    const record: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: observed.leaseTransitions,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#request('update', (signal) => this.#store.update(record, signal));
        this.#setObserved(record);
        this.#log.info({ lease: this.#store.describe() }, 'released leader lease');
        return true;
      } catch (err: unknown) {
        if (!(err instanceof LeaseConflictError)) {
          this.#log.warn({ err: describeError(err) }, 'failed to release leader lease');
          return false;
        }
        const current = await this.#request('get', (signal) => this.#store.get(signal)).catch(() => null);
        if (current === null || current.holderIdentity !== this.#identity) return false;
      }
    }
    return false;
  }

  /**
   * One round of client-go's tryAcquireOrRenew. Resolves true when this replica holds the lease afterwards.
   * Store errors are logged and resolve false. Exposed for tests; run() drives it.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const attempt = this.#tryAcquireOrRenew().catch((err: unknown) => {
      if (!(err instanceof LeaseStoppedError)) {
        this.#log.warn({ err: describeError(err), lease: this.#store.describe() }, 'leader election attempt failed');
      }
      return false;
    });
    this.#inFlight = attempt;
    try {
      return await attempt;
    } finally {
      if (this.#inFlight === attempt) this.#inFlight = null;
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#monotonic();
    const wall = new Date(this.#clock.now());
    const fresh: LeaseRecord = {
      holderIdentity: this.#identity,
      leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
      acquireTime: wall,
      renewTime: wall,
      leaseTransitions: 0,
    };
    // Fast path: a leader whose lease is still valid renews over the version it last wrote.
    const observed = this.#observed;
    if (observed !== null && this.#isLeaderRecord() && this.#isLeaseValid(now)) {
      const renewed = { ...fresh, acquireTime: observed.acquireTime, leaseTransitions: observed.leaseTransitions };
      try {
        await this.#write('update', renewed);
        return true;
      } catch (err: unknown) {
        if (err instanceof LeaseStoppedError) throw err;
        this.#log.warn({ err: describeError(err) }, 'lease renew on the fast path failed; re-reading');
      }
    }
    const current = await this.#attemptCall('get', (signal) => this.#store.get(signal));
    if (current === null) {
      await this.#write('create', fresh);
      return true;
    }
    const raw = JSON.stringify(current);
    if (raw !== this.#observedRaw) this.#setObserved(current, raw);
    const leader = this.#isLeaderRecord();
    if (current.holderIdentity !== '' && this.#isLeaseValid(now) && !leader) return false;
    const next: LeaseRecord = leader
      ? { ...fresh, acquireTime: current.acquireTime, leaseTransitions: current.leaseTransitions }
      : { ...fresh, leaseTransitions: current.leaseTransitions + 1 };
    await this.#write('update', next);
    return true;
  }

  /**
   * Writes our record. The lease is counted from when the write was sent, not answered: the others count it from
   * when they see it, which is never earlier, so a slow answer cannot stretch our term past theirs.
   */
  async #write(kind: 'create' | 'update', record: LeaseRecord): Promise<void> {
    const sent = this.#monotonic();
    await this.#attemptCall(kind, (signal) =>
      kind === 'create' ? this.#store.create(record, signal) : this.#store.update(record, signal),
    );
    this.#setObserved(record, JSON.stringify(record), sent);
    this.#lastWriteSent = sent;
  }

  /** A store call of a campaign or renew attempt: not started once stop()/release() has begun. */
  #attemptCall<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#abort.signal.aborted) return Promise.reject(new LeaseStoppedError());
    return this.#request(what, call);
  }

  /** One store call under the request deadline; an answer after it is discarded (the call has rejected by then). */
  #request<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.#clock.setTimer(() => {
        settled = true;
        controller.abort();
        reject(new LeaseTimeoutError(`${what} ${this.#store.describe()}: no answer in ${this.#requestTimeoutMs} ms`));
      }, this.#requestTimeoutMs);
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.#clock.clearTimer(timer);
        fn();
      };
      call(controller.signal).then(
        (value) => finish(() => resolve(value)),
        (err: unknown) => finish(() => reject(err)),
      );
    });
  }

  async #acquire(): Promise<boolean> {
    while (!this.#abort.signal.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      await sleep(this.#clock, this.#jittered(this.#retryPeriodMs), this.#abort.signal);
    }
    return false;
  }

  /** Renews every retryPeriod; returns when a renew round failed for renewDeadline, or on stop(). */
  async #renewLoop(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      await sleep(this.#clock, this.#retryPeriodMs, this.#abort.signal);
      if (this.#abort.signal.aborted) return;
      const remaining = this.#lastWriteSent + this.#renewDeadlineMs - this.#monotonic();
      const ok = remaining > 0 && (await this.#withDeadline(this.tryAcquireOrRenew(), remaining));
      if (this.#abort.signal.aborted) return;
      if (!ok && this.#monotonic() - this.#lastWriteSent >= this.#renewDeadlineMs) {
        this.#log.warn(
          { lease: this.#store.describe(), identity: this.#identity },
          'failed to renew lease; lost leadership',
        );
        return;
      }
    }
  }

  /** Resolves false if `attempt` has not resolved within `ms` (a hung request must not extend leadership). */
  #withDeadline(attempt: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => resolve(false), ms);
      void attempt.then((ok) => {
        this.#clock.clearTimer(timer);
        resolve(ok);
      });
    });
  }

  #setObserved(record: LeaseRecord, raw = JSON.stringify(record), at = this.#monotonic()): void {
    this.#observed = record;
    this.#observedRaw = raw;
    this.#observedTime = at;
    if (record.holderIdentity !== this.#reportedLeader) {
      this.#reportedLeader = record.holderIdentity;
      if (record.holderIdentity !== '' && this.#opts.onNewLeader !== undefined) {
        const notify = this.#opts.onNewLeader;
        this.#safely(() => notify(record.holderIdentity));
      }
    }
  }

  #isLeaderRecord(): boolean {
    return this.#observed?.holderIdentity === this.#identity;
  }

  #isLeaseValid(now: number): boolean {
    const seconds = this.#observed?.leaseDurationSeconds ?? 0;
    return this.#observedTime + seconds * 1000 > now;
  }

  #jittered(ms: number): number {
    return ms + this.#random() * JITTER_FACTOR * ms;
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err: unknown) {
      this.#log.warn({ err: describeError(err) }, 'leader election callback threw');
    }
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
