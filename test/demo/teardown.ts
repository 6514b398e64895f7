// Everything the demo starts registers how to stop it here; `run` stops them newest first (the operator before the
// emulator it talks to, both before the control plane), once, and keeps going when one of them fails.

export interface TeardownResult {
  /** Messages of the actions that failed, in the order they ran. */
  failures: string[];
}

export class Teardown {
  private readonly actions: Array<{ what: string; run: () => Promise<void> }> = [];
  private done: Promise<TeardownResult> | undefined;

  /** Registers `run`, described as `what` in progress and failure messages. */
  add(what: string, run: () => Promise<void>): void {
    this.actions.push({ what, run });
  }

  /**
   * Runs every registered action, newest first, reporting each through `report`. Idempotent: later calls return
   * the first call's result. Never throws; failures are collected in the result.
   */
  run(report: (line: string) => void): Promise<TeardownResult> {
    this.done ??= this.runAll(report);
    return this.done;
  }

  private async runAll(report: (line: string) => void): Promise<TeardownResult> {
    const failures: string[] = [];
    for (const action of [...this.actions].reverse()) {
      try {
        await action.run();
        report(`stopped: ${action.what}`);
      } catch (err: unknown) {
        const message = `${action.what}: ${err instanceof Error ? err.message : String(err)}`;
        failures.push(message);
        report(`FAILED to stop ${message}`);
      }
    }
    return { failures };
  }
}
