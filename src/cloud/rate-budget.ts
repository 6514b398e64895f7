// A token bucket that paces ECS calls so the operator stays under the API rate limits (which ECS applies per
// account, region and action; we budget per credential identity and region, across actions, which is stricter).
// Every object reconciled with the same identity in the same region shares one bucket: the factory owns the map.

export interface RateBudgetOptions {
  /** Sustained calls per second; > 0. */
  qps: number;
  /** Calls allowed back to back after a quiet period; >= 1. */
  burst: number;
  /** Milliseconds, monotonic enough for pacing. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Guarantees that within any window of `t` ms at most `burst + qps * t / 1000` takes resolve. Takers are served in
 * arrival order (FIFO), so a busy object cannot starve others that share the identity.
 */
export class RateBudget {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #last: number;
  #tail: Promise<void> = Promise.resolve();

  constructor(o: RateBudgetOptions) {
    if (!(o.qps > 0)) throw new RangeError(`rate budget qps must be > 0, got ${o.qps}`);
    if (!(o.burst >= 1)) throw new RangeError(`rate budget burst must be >= 1, got ${o.burst}`);
    this.#qps = o.qps;
    this.#burst = Math.floor(o.burst);
    this.#now = o.now;
    this.#sleep = o.sleep;
    this.#tokens = this.#burst;
    this.#last = o.now();
  }

  /** Resolves when one call may be made, consuming a token. Never rejects (unless the injected sleep does). */
  take(): Promise<void> {
    const turn = this.#tail.then(() => this.#acquire());
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  /** Tokens available right now (fractional), for tests and metrics. */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#qps) / 1000);
  }

  async #acquire(): Promise<void> {
    for (;;) {
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#sleep(Math.ceil(((1 - this.#tokens) * 1000) / this.#qps));
    }
  }
}
