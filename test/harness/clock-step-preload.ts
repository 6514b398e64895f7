// A Node preload (`--import`) that models a wall-clock step (NTP, a VM resume) in the process it is loaded into: on
// SIGUSR2, Date.now() and `new Date()` jump forward by IMAGESHARE_TEST_CLOCK_STEP_MS (default 60 s), and stay
// ahead. performance.now() and timers are untouched, exactly as a real step leaves the monotonic clock. Each step
// writes one JSON line with the real time and the total offset, so a reader of the process's log can tell which
// later timestamps are skewed.
const stepMs = Number(process.env.IMAGESHARE_TEST_CLOCK_STEP_MS ?? '60000');
const RealDate = Date;
let offsetMs = 0;

class SteppedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + offsetMs);
    else super(...(args as [string | number | Date]));
  }

  static override now(): number {
    return RealDate.now() + offsetMs;
  }
}

globalThis.Date = SteppedDate as DateConstructor;

process.on('SIGUSR2', () => {
  offsetMs += stepMs;
  const line = {
    level: 30,
    time: RealDate.now(),
    msg: 'test: wall clock stepped',
    offsetMs,
    steppedNow: new SteppedDate().toISOString(),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
});
