// Prints one plain closing line, "N passed, N failed[, N skipped]", as the very last line of the run (after Jest's
// own summary), so any CI log reader can tell how many tests ran.
import { writeSync } from 'node:fs';

export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.once('exit', () => writeSync(1, `\n${line}\n`));
  }
}
