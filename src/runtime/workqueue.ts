// A work queue of object keys (`namespace/name`) with client-go's workqueue guarantees, on an injected clock.
//
// - Fair and stingy: FIFO, and a key added many times while it waits is processed once (the dirty set).
// - Exclusive: a key is never handed to two workers at once. Adding a key that is being processed marks it dirty,
//   and it is queued again when its worker calls done() (the processing set).
// - Delays: addAfter keeps one due time per key (the earliest requested wins) in a min-heap served by one timer,
//   whatever the number of delayed keys (issue 19: 10,000 settled objects wait on one timer, not 10,000).
// - Retries: addRateLimited asks the RateLimiter (per-key exponential backoff max-of a global token bucket); the
//   default limiter waits at least 1 s, because every reconcile calls ECS.
// - Priority: a key queued by add() (an event: something changed) is urgent, a key that only came back on its own
//   timer (addAfter: resync, retry) or that a restart brings (add with Background: first LIST, takeover) is
//   background. Urgent keys are handed out before background ones (FIFO within each), so a spec change never waits
//   behind a backlog; the handler runs inside that call-priority context so the cloud rate budget agrees.
// - New input only: add() is for new input and re-runs a key after its current pass; wake() is for echoes of the
//   operator's own writes and never cuts short the delay a pass chose (it queues only a key nothing else holds).
// - Shutdown: shutdown() stops handing out work and drops pending delays; drain() waits for in-flight work.
import { type Clock, realClock, type TimerHandle } from './clock.ts';
import { CallPriority, withCallPriority } from './call-priority.ts';
import { cloudControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';
import { type Outcome, outcomeOf, type Result } from './reconciler.ts';

// biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing are the common case.
export type Handler = (key: string) => Promise<Result | undefined | void>;

/** Reported once per handler call (for metrics and logs). `error` is set for the error and terminal outcomes. */
export interface ReconcileObservation {
  key: string;
  outcome: Outcome;
  durationMs: number;
  /** What the handler threw, if it threw. */
  error?: unknown;
  /** For the error outcome: the delay chosen by the rate limiter. For requeue_after: the requested delay. */
  requeueInMs?: number;
}

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  /** Called after every handler run by run(); must not throw (a throw is swallowed). */
  onReconcile?: (o: ReconcileObservation) => void;
}

export class WorkQueue {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #onReconcile: ((o: ReconcileObservation) => void) | undefined;
  /** Keys ready to be handed out: urgent ones first. */
  #urgentQueue: string[] = [];
  #backgroundQueue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  /** Delayed keys and when each is due; the heap orders them, with entries a later addAfter superseded skipped. */
  readonly #waiting = new Map<string, number>();
  readonly #due = new DueHeap();
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** Keys queued by add() since they were last handed out: their next run is urgent. */
  readonly #urgent = new Set<string>();
  /** The priority of each key being processed, fixed when it was handed out. */
  readonly #running = new Map<string, CallPriority>();
  #getters: Array<(key: string | undefined) => void> = [];
  #idleWaiters: Array<() => void> = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.#limiter = options.rateLimiter ?? cloudControllerRateLimiter(this.#clock);
    this.#onReconcile = options.onReconcile;
  }

  /**
   * New input for `key`: queued unless already queued; a key being processed is queued again after done(). Urgent
   * by default; Background for work nobody waits for (a restart's first LIST, a takeover). No-op after shutdown.
   */
  add(key: string, priority: CallPriority = CallPriority.Urgent): void {
    if (this.#shuttingDown) return;
    if (priority === CallPriority.Urgent) {
      this.#urgent.add(key);
      if (this.#dirty.has(key) && !this.#processing.has(key)) this.#promote(key);
    }
    this.#enqueue(key);
  }

  /**
   * No new input, only a change the pass itself may have caused (e.g. its own finalizer patch): queues `key` as
   * background only when it is neither queued, nor being processed, nor waiting on the delay its last pass chose.
   */
  wake(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key) || this.#processing.has(key) || this.#waiting.has(key)) return;
    this.#enqueue(key);
  }

  /** Moves a key that waits among the background keys to the back of the urgent ones (an event arrived for it). */
  #promote(key: string): void {
    const at = this.#backgroundQueue.indexOf(key);
    if (at < 0) return;
    this.#backgroundQueue.splice(at, 1);
    this.#urgentQueue.push(key);
  }

  #enqueue(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` after `ms`. If the key already waits, the earlier of the two times is kept. ms <= 0 adds now. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + ms;
    const pending = this.#waiting.get(key);
    if (pending !== undefined && pending <= at) return;
    this.#waiting.set(key, at);
    this.#due.push(at, key);
    if (this.#due.size() > 2 * this.#waiting.size + 64) this.#due.keep((k, t) => this.#waiting.get(k) === t);
    this.#arm();
  }

  /** Keeps the one timer set for the earliest due key (none when nothing waits). */
  #arm(): void {
    const at = this.#due.peekAt();
    if (at === undefined) {
      if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimer(() => this.#fire(), at - this.#clock.now());
  }

  /** The timer fired: every key now due is queued (in due order), and the timer is set for the next one. */
  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#shuttingDown) return;
    const now = this.#clock.now();
    for (let at = this.#due.peekAt(); at !== undefined && at <= now; at = this.#due.peekAt()) {
      const key = this.#due.pop();
      if (key === undefined || this.#waiting.get(key) !== at) continue; // superseded by an earlier time
      this.#waiting.delete(key);
      this.#enqueue(key);
    }
    this.#arm();
  }

  /** Adds `key` after the rate limiter's delay for it (counts as one more failure); returns that delay. */
  addRateLimited(key: string): number {
    const delay = this.#limiter.when(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Forgets `key`'s failure history, so its next failure starts from the base delay again. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  /** Failures of `key` since it was last forgotten. */
  numRequeues(key: string): number {
    return this.#limiter.retries(key);
  }

  /** Keys ready to be handed out (not counting those being processed or waiting on a delay). */
  len(): number {
    return this.#urgentQueue.length + this.#backgroundQueue.length;
  }

  /** Keys ready to be handed out, by the priority of their next run. */
  lenByPriority(): Record<CallPriority, number> {
    return { [CallPriority.Urgent]: this.#urgentQueue.length, [CallPriority.Background]: this.#backgroundQueue.length };
  }

  /** Keys waiting on addAfter / addRateLimited timers. */
  delayed(): number {
    return this.#waiting.size;
  }

  /** The call priority of `key` while a worker handles it (urgent if it is not being handled). */
  priorityOf(key: string): CallPriority {
    return this.#running.get(key) ?? CallPriority.Urgent;
  }

  /** Keys currently handed to a worker. */
  inFlight(): number {
    return this.#processing.size;
  }

  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The next key, marked as processing; the caller must call done(key) afterwards. Resolves undefined once the
   * queue is shut down (queued keys are then dropped: the informer and resync re-enqueue them on the next start).
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#urgentQueue.length > 0 ? this.#urgentQueue.shift() : this.#backgroundQueue.shift();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile it goes to the back of the queue. */
  done(key: string): void {
    this.#processing.delete(key);
    this.#running.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
    if (this.#processing.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Stops handing out work: pending get() calls resolve undefined, delayed keys are dropped, adds are ignored. */
  shutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#waiting.clear();
    this.#due.keep(() => false);
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
  }

  /**
   * Shuts down and waits until no key is being processed, or until `timeoutMs` passes. Resolves true when every
   * in-flight handler finished, false on timeout (the caller decides whether to exit anyway).
   */
  drain(timeoutMs: number): Promise<boolean> {
    this.shutdown();
    if (this.#processing.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => resolve(false), timeoutMs);
      this.#idleWaiters.push(() => {
        this.#clock.clearTimer(timer);
        resolve(true);
      });
    });
  }

  /**
   * Runs `concurrency` workers until shutdown; resolves when all workers have stopped. Each handler's result or throw
   * becomes the key's next visit through outcomeOf (reconciler.ts). Handlers should not hang: drain() waits.
   */
  async run(handler: Handler, concurrency: number): Promise<void> {
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    const workers = Array.from({ length: concurrency }, () => this.#worker(handler));
    await Promise.all(workers);
  }

  async #worker(handler: Handler): Promise<void> {
    for (;;) {
      const key = await this.get();
      if (key === undefined) return;
      const started = this.#clock.now();
      let settled: { result: Result | undefined } | { thrown: unknown };
      try {
        settled = { result: (await withCallPriority(this.priorityOf(key), () => handler(key))) ?? undefined };
      } catch (thrown: unknown) {
        settled = { thrown };
      }
      const observation = this.#schedule(key, settled);
      this.done(key);
      this.#report({ key, durationMs: this.#clock.now() - started, ...observation });
    }
  }

  /** Schedules the key's next visit from the pass's result, before done(), so an echo event sees the delay. */
  #schedule(
    key: string,
    settled: { result: Result | undefined } | { thrown: unknown },
  ): Omit<ReconcileObservation, 'durationMs' | 'key'> {
    const { outcome, next } = outcomeOf(settled);
    const error = 'thrown' in settled ? { error: settled.thrown } : {};
    if (next.kind === 'backoff') return { outcome, ...error, requeueInMs: this.addRateLimited(key) };
    this.forget(key);
    if (next.kind === 'none') return { outcome, ...error };
    this.addAfter(key, next.ms);
    return { outcome, ...error, requeueInMs: next.ms };
  }

  #report(o: ReconcileObservation): void {
    try {
      this.#onReconcile?.(o);
    } catch {
      // Observers are metrics and logs; they must never break the worker loop.
    }
  }

  #push(key: string): void {
    const getter = this.#getters.shift();
    if (getter !== undefined) {
      getter(this.#take(key));
      return;
    }
    if (this.#urgent.has(key)) this.#urgentQueue.push(key);
    else this.#backgroundQueue.push(key);
  }

  #take(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#running.set(key, this.#urgent.delete(key) ? CallPriority.Urgent : CallPriority.Background);
    return key;
  }
}

/** A binary min-heap of (due time, key), ties in insertion order; parallel arrays keep it compact. */
class DueHeap {
  #at: number[] = [];
  #seq: number[] = [];
  #key: string[] = [];
  #next = 0;

  size(): number {
    return this.#key.length;
  }

  peekAt(): number | undefined {
    return this.#at[0];
  }

  push(at: number, key: string): void {
    this.#at.push(at);
    this.#seq.push(this.#next++);
    this.#key.push(key);
    this.#up(this.#key.length - 1);
  }

  /** Removes the earliest entry and returns its key. */
  pop(): string | undefined {
    const top = this.#key[0];
    const last = this.#key.length - 1;
    if (last < 0) return undefined;
    this.#swap(0, last);
    this.#at.pop();
    this.#seq.pop();
    this.#key.pop();
    this.#down(0);
    return top;
  }

  /** Keeps only the entries `wanted` accepts (drops superseded ones), rebuilding the heap. */
  keep(wanted: (key: string, at: number) => boolean): void {
    const at: number[] = [];
    const seq: number[] = [];
    const key: string[] = [];
    for (let i = 0; i < this.#key.length; i++) {
      const k = this.#key[i] as string;
      const t = this.#at[i] as number;
      if (!wanted(k, t)) continue;
      at.push(t);
      seq.push(this.#seq[i] as number);
      key.push(k);
    }
    this.#at = at;
    this.#seq = seq;
    this.#key = key;
    for (let i = (key.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #less(i: number, j: number): boolean {
    const a = this.#at[i] as number;
    const b = this.#at[j] as number;
    return a < b || (a === b && (this.#seq[i] as number) < (this.#seq[j] as number));
  }

  #swap(i: number, j: number): void {
    [this.#at[i], this.#at[j]] = [this.#at[j] as number, this.#at[i] as number];
    [this.#seq[i], this.#seq[j]] = [this.#seq[j] as number, this.#seq[i] as number];
    [this.#key[i], this.#key[j]] = [this.#key[j] as string, this.#key[i] as string];
  }

  #up(from: number): void {
    let i = from;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(from: number): void {
    let i = from;
    const n = this.#key.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#less(l, m)) m = l;
      if (r < n && this.#less(r, m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
