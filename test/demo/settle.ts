// When the demo's wait for the examples is over, and whether they ended where scenario.ts says they should.
import type { ImageShare } from '../../src/api/types.ts';
import { COMMUNITY, EXPECTED_REASONS, IMAGE_BUILDING_REASON } from './scenario.ts';
import { condition, describeReady, isSettled, type WatchVerdict } from './watch-imageshares.ts';

/**
 * Done when every example ImageShare exists and is settled. With `imageBuilding`, the community object may instead
 * be waiting for its image (it cannot settle before the demo finishes the image build).
 */
export function settledVerdict(items: readonly ImageShare[], imageBuilding: boolean): WatchVerdict {
  const byName = new Map(items.map((o) => [o.metadata.name, o]));
  const pending = Object.keys(EXPECTED_REASONS)
    .filter((name) => !byName.has(name))
    .map((name) => `${name}: not created yet`);
  for (const o of items) {
    const building =
      imageBuilding && o.metadata.name === COMMUNITY.name && condition(o, 'Ready')?.reason === IMAGE_BUILDING_REASON;
    if (!building && !isSettled(o)) pending.push(describeReady(o));
  }
  return { done: pending.length === 0, pending };
}

/** Throws, naming every mismatch, when a settled example has another Ready reason than scenario.ts expects. */
export function checkExpectedReasons(items: readonly ImageShare[]): void {
  const wrong = items
    .filter((o) => {
      const expected = EXPECTED_REASONS[o.metadata.name];
      return expected !== undefined && condition(o, 'Ready')?.reason !== expected;
    })
    .map((o) => `${describeReady(o)}; expected reason ${EXPECTED_REASONS[o.metadata.name]}`);
  if (wrong.length > 0) throw new Error(`some examples settled with an unexpected reason:\n  ${wrong.join('\n  ')}`);
}

/** `4 Synced, 1 PlanPending, …`: how many objects have each Ready reason. */
export function summarizeReasons(items: readonly ImageShare[]): string {
  const counts = new Map<string, number>();
  for (const o of items) {
    const reason = condition(o, 'Ready')?.reason ?? 'none';
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
}
