// Starts and stops everything the operator runs, in the order that keeps one writer (ADR 0026). Informers run on
// every replica (a standby keeps a warm cache); controllers write, so they start only with leadership, and each only
// once the caches it decides from have listed. Stopping: drain the controllers, abort what is left, release the
// Lease only after the last pass ended (shutdown.ts); losing the Lease: abort everything and exit at once.
import { waitForCacheSync, type SyncedCache } from './cache-sync.ts';
import { LeaderElector, type LeaderElectorOptions, StopReason } from './leader-election.ts';
import type { Log } from './logger.ts';
import { onLeadershipLost, StopOutcome, stopGracefully } from './shutdown.ts';
import { WorkQueue } from './workqueue.ts';

/** A cache that runs on every replica. start() resolves once listed and rejects only when stopped first. */
export interface Informer extends SyncedCache {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Work that writes, so it runs only on the leader. */
export interface LeaderRunnable {
  readonly name: string;
  /** It starts only once every one of these caches has listed. */
  readonly caches: readonly SyncedCache[];
  /** Queues what a takeover brings and works until its queue shuts down; `passes` aborts in-flight passes. */
  run(passes: AbortSignal): Promise<void>;
  /** Stops taking work and waits up to `ms` for in-flight passes: true when none is left. */
  drain(ms: number): Promise<boolean>;
  /** Stops taking work at once. */
  shutdown(): void;
  inFlight(): number;
}

/** A LeaderRunnable whose drain, shutdown and in-flight count are its one work queue's. */
export abstract class QueuedRunnable implements LeaderRunnable {
  abstract readonly name: string;
  abstract readonly caches: readonly SyncedCache[];
  readonly queue: WorkQueue;
  constructor(queue: WorkQueue = new WorkQueue()) {
    this.queue = queue;
  }
  abstract run(passes: AbortSignal): Promise<void>;
  drain(ms: number): Promise<boolean> {
    return this.queue.drain(ms);
  }
  shutdown(): void {
    this.queue.shutdown();
  }
  inFlight(): number {
    return this.queue.inFlight();
  }
}

export interface ManagerOptions {
  log: Log;
  informers: readonly Informer[];
  runnables: readonly LeaderRunnable[];
  /** Leader election; absent: this replica leads at once. */
  election?: Omit<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading' | 'onNewLeader' | 'log'>;
  onLeading?: (leading: boolean) => void;
  gracefulShutdownTimeoutMs: number;
  /** Ends the process (leadership lost, an informer that cannot start). */
  exit: (code: number) => void;
}

export class Manager {
  readonly #o: ManagerOptions;

  constructor(options: ManagerOptions) {
    this.#o = options;
  }

  /** Runs until `stop` aborts (a signal), then stops gracefully; resolves with the exit code. */
  async run(stop: AbortSignal): Promise<number> {
    const { log, informers, runnables } = this.#o;
    // Without this, a process with no listener and an unreachable apiserver has nothing keeping it alive and exits 0.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const stopping = new AbortController();
    const passes = new AbortController();
    const inFlight = () => runnables.reduce((n, r) => n + r.inFlight(), 0);
    for (const informer of informers)
      informer.start().catch((err: unknown) => {
        if (stopping.signal.aborted) return;
        log.error({ informer: informer.name, err: String(err) }, 'informer could not start; exiting');
        this.#o.exit(1);
      });
    const running: Array<Promise<void>> = [];
    const lead = (): void => {
      this.#o.onLeading?.(true);
      for (const r of runnables) running.push(this.#start(r, stopping.signal, passes.signal));
    };
    let elector: LeaderElector | undefined;
    if (this.#o.election === undefined) lead();
    else {
      elector = new LeaderElector({
        ...this.#o.election,
        log,
        onStartedLeading: lead,
        onStoppedLeading: (reason) => {
          this.#o.onLeading?.(false);
          if (reason !== StopReason.Lost) return;
          log.error({ inFlight: inFlight() }, 'leader election lost; aborting in-flight reconciles and exiting');
          onLeadershipLost({
            stopQueue: () => {
              for (const r of runnables) r.shutdown();
            },
            abortPasses: () => passes.abort(),
            exit: this.#o.exit,
          });
        },
        onNewLeader: (id) => log.info({ leader: id }, 'new leader observed'),
      });
      void elector.run();
    }

    await new Promise<void>((resolve) => {
      if (stop.aborted) resolve();
      else stop.addEventListener('abort', () => resolve(), { once: true });
    });
    const timeoutMs = this.#o.gracefulShutdownTimeoutMs;
    log.info({ signal: String(stop.reason), inFlight: inFlight(), timeoutMs }, 'shutting down');
    stopping.abort();
    const leader = elector;
    const result = await stopGracefully({
      queue: { drain: async (ms) => (await Promise.all(runnables.map((r) => r.drain(ms)))).every(Boolean) },
      abortPasses: () => {
        log.warn({ inFlight: inFlight() }, 'graceful shutdown timeout: aborting in-flight reconciles');
        passes.abort();
      },
      timeoutMs,
      ...(leader === undefined ? {} : { releaseLease: () => leader.release() }),
    });
    leader?.stop();
    await Promise.all(informers.map((i) => i.stop()));
    if (result.outcome !== StopOutcome.Abandoned) await Promise.all(running);
    clearInterval(keepAlive);
    const abandoned = result.outcome === StopOutcome.Abandoned;
    log.info(result, abandoned ? 'stopped with a reconcile still running; the Lease was left to expire' : 'stopped');
    return result.exitCode;
  }

  async #start(r: LeaderRunnable, stopping: AbortSignal, passes: AbortSignal): Promise<void> {
    // Workers decide from the cache (one image, one owner; which Secrets are in use): never from a half-listed one.
    if (!(await waitForCacheSync(r.caches, stopping))) return;
    this.#o.log.info({ controller: r.name }, 'starting controller');
    await r.run(passes);
  }
}
