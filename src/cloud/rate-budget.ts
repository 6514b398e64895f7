// Paces ECS calls the way ECS limits them: per owning account, per region, per API action (reference §3: "limits
// apply per account, per region and per API"). Each (account, region, action) has its own adaptive token bucket
// (AIMD): a Throttling answer halves its rate and pauses it for the server's retry-after; every success adds a
// little back, never above the configured ceiling (--ecs-qps). A burst of reads therefore cannot starve writes, and
// no flag has to be tuned to the workload's mix of actions.
import { type CallPriority, currentCallPriority } from '../runtime/call-priority.ts';

export interface RateBudgetOptions {
  /** The ceiling: sustained calls per second never exceed it; > 0. */
  qps: number;
  /** Calls allowed back to back after a quiet period; >= 1. */
  burst: number;
  /** Milliseconds, monotonic enough for pacing. */
  now: () => number;
  /** Waits `ms`; may end early when `signal` fires (the take timeout passes one). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The rate never drops below this after throttling. Default qps / 32 (five halvings). */
  floorQps?: number;
  /** Rate added back per successful call. Default qps / 50, so a halved rate recovers in 25 successes. */
  increaseQps?: number;
}

// Ends a take's own controller (its timeout sleep and caller-signal listener; seen by nobody else). Built once:
// abort() without a reason builds a DOMException, and a take runs for every ECS call.
const ENDED = new DOMException('The wait for a rate budget token is over.', 'AbortError');

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How a take may end early: the caller's signal, and a ceiling on the wait. */
export interface TakeOptions {
  priority?: CallPriority;
  /** The take rejects with the signal's reason (an AbortError by default) as soon as it fires. */
  signal?: AbortSignal | undefined;
  /** The take rejects with BudgetWaitTimeout when no token came within this many ms. Default: no ceiling. */
  timeoutMs?: number | undefined;
}

/** No token came within the take's timeout; `waitMs` is how long the bucket still wanted the caller to wait. */
export class BudgetWaitTimeout extends Error {
  readonly waitMs: number;
  constructor(waitMs: number) {
    super(`no rate budget token within the wait limit; about ${waitMs} ms more were needed`);
    this.name = 'BudgetWaitTimeout';
    this.waitMs = waitMs;
  }
}

/**
 * An adaptive token bucket. Guarantees that within any window of `t` ms at most `burst + qps * t / 1000` takes
 * resolve (the ceiling bounds the rate however many successes are reported), and no take resolves while a
 * server-imposed retry-after is running. Waiters of one priority are served in arrival order (FIFO); an urgent
 * waiter goes before every background one.
 */
export class RateBudget {
  readonly #ceiling: number;
  readonly #floor: number;
  readonly #increase: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #queues: Record<CallPriority, Waiter[]> = { urgent: [], background: [] };
  #rate: number;
  #tokens: number;
  #last: number;
  #pausedUntil = 0;
  #lastActivity: number;
  #pumping = false;

  constructor(o: RateBudgetOptions) {
    if (!(o.qps > 0)) throw new RangeError(`rate budget qps must be > 0, got ${o.qps}`);
    if (!(o.burst >= 1)) throw new RangeError(`rate budget burst must be >= 1, got ${o.burst}`);
    this.#ceiling = o.qps;
    this.#floor = Math.min(o.qps, o.floorQps ?? o.qps / 32);
    this.#increase = o.increaseQps ?? o.qps / 50;
    this.#burst = Math.floor(o.burst);
    this.#now = o.now;
    this.#sleep = o.sleep;
    this.#rate = o.qps;
    this.#tokens = this.#burst;
    this.#last = o.now();
    this.#lastActivity = this.#last;
  }

  /**
   * Resolves when one call may be made, consuming a token. `priority` defaults to the caller's async context
   * (see runtime/call-priority.ts). Rejects, leaving the queue and taking no token, when `signal` fires or
   * `timeoutMs` passes first (the timeout runs on the injected sleep, so a fake clock drives it); otherwise rejects
   * only if the injected sleep does.
   */
  take(o: TakeOptions | CallPriority = {}): Promise<void> {
    const { priority = currentCallPriority(), signal, timeoutMs } = typeof o === 'string' ? { priority: o } : o;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const queue = this.#queues[priority];
      const ender = new AbortController();
      const leave = (err: unknown) => {
        const i = queue.indexOf(waiter);
        if (i < 0) return;
        queue.splice(i, 1);
        ender.abort(ENDED);
        reject(err);
      };
      const onAbort = () => leave(abortReason(signal));
      const waiter: Waiter = {
        resolve: () => {
          ender.abort(ENDED);
          resolve();
        },
        reject: (err) => {
          ender.abort(ENDED);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { signal: ender.signal });
      queue.push(waiter);
      void this.#pump(); // hands out an available token synchronously: only a waiter still queued needs a timeout
      if (timeoutMs !== undefined && queue.includes(waiter)) {
        this.#sleep(timeoutMs, ender.signal).then(
          () => leave(new BudgetWaitTimeout(this.#waitMs())),
          () => undefined,
        );
      }
    });
  }

  /**
   * ECS answered Throttling: halve the rate (not below the floor) and drop saved tokens; with `retryAfterMs`, nothing
   * passes until it ends, and then one call at once.
   */
  throttled(retryAfterMs?: number): void {
    this.#refill();
    this.#rate = Math.max(this.#floor, this.#rate / 2);
    const now = this.#now();
    this.#lastActivity = now;
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      // The server named the moment one call is welcome again: exactly one token waits for it.
      this.#pausedUntil = Math.max(this.#pausedUntil, now + retryAfterMs);
      this.#tokens = Math.min(this.#tokens, 1);
    } else this.#tokens = Math.min(this.#tokens, 0);
  }

  /** A call went through: add `increaseQps` back, up to the ceiling. */
  succeeded(): void {
    this.#refill();
    this.#rate = Math.min(this.#ceiling, this.#rate + this.#increase);
  }

  /** The current sustained rate (calls per second), for tests and metrics. */
  rate(): number {
    return this.#rate;
  }

  /** Tokens available right now (fractional), for tests and metrics. */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takers waiting right now. */
  waiting(): number {
    return this.#queues.urgent.length + this.#queues.background.length;
  }

  /** True when nobody waits and nothing happened for `idleMs`: forgetting this bucket loses nothing worth keeping. */
  idleFor(idleMs: number): boolean {
    return this.waiting() === 0 && !this.#pumping && this.#now() - this.#lastActivity >= idleMs;
  }

  #refill(): void {
    const now = this.#now();
    // No tokens accrue while a retry-after pause runs: the server said "nothing until then", not "save up".
    const elapsed = Math.max(0, now - Math.max(this.#last, this.#pausedUntil));
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#rate) / 1000);
  }

  #head(): Waiter | undefined {
    return this.#queues.urgent[0] ?? this.#queues.background[0];
  }

  #shift(): Waiter | undefined {
    return this.#queues.urgent.length > 0 ? this.#queues.urgent.shift() : this.#queues.background.shift();
  }

  /** How long the head waiter must still wait; 0 = a token is there and no pause is running. */
  #waitMs(): number {
    this.#refill();
    const pause = this.#pausedUntil - this.#now();
    if (pause > 0) return Math.ceil(pause);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }

  /** One loop hands out tokens; the head is re-read after every sleep so a newly arrived urgent waiter goes first. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#head() !== undefined) {
        const wait = this.#waitMs();
        if (wait > 0) {
          await this.#sleep(wait);
          continue;
        }
        this.#tokens -= 1;
        this.#lastActivity = this.#now();
        this.#shift()?.resolve();
      }
    } catch (err: unknown) {
      for (const w of [...this.#queues.urgent.splice(0), ...this.#queues.background.splice(0)]) w.reject(err);
    } finally {
      this.#pumping = false;
    }
  }
}

export interface BudgetRegistryOptions {
  /** The per-action ceiling (--ecs-qps). */
  qps: number;
  /**
   * Requested burst. Each bucket holds at most max(1, qps / 5) tokens (200 ms of its ceiling): ECS counts calls per
   * window, and when its window and ours are out of phase a full second's burst can exceed the quota although the
   * sustained rate does not. Pacing almost evenly costs nothing at the sustained rate.
   */
  burst: number;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Buckets idle this long are dropped. Default 10 minutes. */
  idleMs?: number;
}

/**
 * Owns every bucket, keyed by (owner, region, action). The owner is the account when it is known, else the
 * credential identity (an access key ID, a role, the default chain): `learnAccount` ties an identity to its account
 * so every key of one account shares the account's buckets. Idle buckets and identity links are dropped, so the maps
 * only hold what was used in the last `idleMs`.
 */
export class BudgetRegistry {
  readonly #o: BudgetRegistryOptions;
  readonly #idleMs: number;
  readonly #burst: number;
  readonly #budgets = new Map<string, RateBudget>();
  readonly #accounts = new Map<string, { account: string; seen: number }>();
  #lastSweep: number;

  constructor(o: BudgetRegistryOptions) {
    if (!(o.qps > 0) || !(o.burst >= 1))
      throw new RangeError(`qps must be > 0 and burst >= 1, got ${o.qps}, ${o.burst}`);
    this.#o = o;
    this.#idleMs = o.idleMs ?? 600_000;
    this.#burst = Math.max(1, Math.min(Math.floor(o.burst), Math.floor(o.qps / 5)));
    this.#lastSweep = o.now();
  }

  /** The bucket of the owner of `identityKey` for `action` in `regionId`; created on first use. */
  budget(identityKey: string, regionId: string, action: string): RateBudget {
    this.#sweep();
    const key = `${this.ownerOf(identityKey)}\u0000${regionId}\u0000${action}`;
    let budget = this.#budgets.get(key);
    if (budget === undefined) {
      budget = new RateBudget({ qps: this.#o.qps, burst: this.#burst, now: this.#o.now, sleep: this.#o.sleep });
      this.#budgets.set(key, budget);
    }
    return budget;
  }

  /** Records that `identityKey` belongs to `accountId` (digits); later budget() calls use the account's buckets. */
  learnAccount(identityKey: string, accountId: string): void {
    this.#accounts.set(identityKey, { account: accountId, seen: this.#o.now() });
  }

  /** `account:<id>` once the identity's account is known, else `identity:<key>`. */
  ownerOf(identityKey: string): string {
    const link = this.#accounts.get(identityKey);
    if (link === undefined) return `identity:${identityKey}`;
    link.seen = this.#o.now();
    return `account:${link.account}`;
  }

  /** Buckets held right now (for tests and metrics). */
  size(): number {
    return this.#budgets.size;
  }

  /** Drops idle buckets and identity links; runs at most once per idleMs / 10. */
  #sweep(): void {
    const now = this.#o.now();
    if (now - this.#lastSweep < this.#idleMs / 10) return;
    this.#lastSweep = now;
    for (const [key, budget] of this.#budgets) if (budget.idleFor(this.#idleMs)) this.#budgets.delete(key);
    for (const [key, link] of this.#accounts) if (now - link.seen >= this.#idleMs) this.#accounts.delete(key);
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('The wait for a rate budget token was aborted.', 'AbortError');
}

/** The account a RAM role belongs to, from its ARN (`acs:ram::<account>:role/<name>`); undefined when malformed. */
export function accountOfRoleArn(roleArn: string): string | undefined {
  return /^acs:ram::(\d+):role\//.exec(roleArn)?.[1];
}
