// What the person watching the demo reads: numbered steps with a one-line explanation, details indented under
// them, and command output shown verbatim. Everything goes to one writer (stdout) so the order is never mixed up.

export const TOTAL_STEPS = 8;

export interface ProgressClock {
  now(): number;
}

export class Progress {
  private readonly write: (text: string) => void;
  private readonly clock: ProgressClock;
  private readonly started: number;
  private current: { n: number; title: string } | undefined;

  constructor(write: (text: string) => void, clock: ProgressClock = { now: () => Date.now() }) {
    this.write = write;
    this.clock = clock;
    this.started = clock.now();
  }

  /** The step being run, for failure messages; undefined before step 1. */
  get step(): { n: number; title: string } | undefined {
    return this.current;
  }

  /** Starts step `n`: a header with the step number and title, then `why` (one line, what the user should notice). */
  begin(n: number, title: string, why: string): void {
    this.current = { n, title };
    this.write(`\n==> [${n}/${TOTAL_STEPS}] ${title}  (${this.elapsed()})\n    ${why}\n`);
  }

  /** One detail line under the current step. */
  info(line: string): void {
    this.write(line === '' ? '\n' : `    ${line}\n`);
  }

  /** A command as the user would type it, followed by its output, indented. */
  command(cmd: string, output: string): void {
    this.write(`    $ ${cmd}\n`);
    this.block(output);
  }

  /** Verbatim multi-line text (a kubectl table), indented; trailing blank lines dropped. */
  block(text: string): void {
    const lines = text.replace(/\s+$/, '').split('\n');
    this.write(`${lines.map((l) => `      ${l}`).join('\n')}\n`);
  }

  /** Seconds since the demo started, e.g. `+12s`. */
  elapsed(): string {
    return `+${Math.round((this.clock.now() - this.started) / 1000)}s`;
  }
}
