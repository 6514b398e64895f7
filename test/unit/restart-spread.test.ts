import { describe, expect, it } from '@jest/globals';
import type { ImageShare, ImageShareStatus } from '../../src/api/types.ts';
import { restartDelayMs, unobservedInput } from '../../src/kube/restart-spread.ts';

const READY = {
  type: 'Ready',
  status: 'True',
  reason: 'Synced',
  message: 'ok',
  observedGeneration: 2,
  lastTransitionTime: '2026-01-01T00:00:00Z',
} as const;

function obj(status: ImageShareStatus | undefined, extra: { deleting?: boolean; resync?: string } = {}): ImageShare {
  return {
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: {
      name: 'a',
      namespace: 'ns',
      generation: 2,
      ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      regionId: 'cn-hangzhou',
      imageId: 'm-1',
      ...(extra.resync ? { resyncInterval: extra.resync } : {}),
    },
    ...(status ? { status } : {}),
  };
}

const SETTLED: ImageShareStatus = { observedGeneration: 2, conditions: [READY] };
const TEN_MIN = 600_000;

describe('restartDelayMs: the first pass after a start', () => {
  it.each([
    { why: 'a settled object waits a random part of its interval', o: obj(SETTLED), ms: 300_000 },
    {
      why: 'its own spec.resyncInterval is the interval it spreads over',
      o: obj(SETTLED, { resync: '1h' }),
      ms: 1_800_000,
    },
    { why: 'a new object (no status) is visited at once', o: obj(undefined), ms: 0 },
    {
      why: 'a spec change no pass has seen yet (observedGeneration behind) is visited at once',
      o: obj({ ...SETTLED, observedGeneration: 1 }),
      ms: 0,
    },
    {
      why: 'a write awaiting confirmation (maybe interrupted by the restart) is visited at once',
      o: obj({ ...SETTLED, pendingWrites: [{ action: 'Grant', account: '1234567890123456', since: 't' }] }),
      ms: 0,
    },
    {
      why: 'an object that is not Ready (failing, blocked) is visited at once',
      o: obj({ ...SETTLED, conditions: [{ ...READY, status: 'False' }] }),
      ms: 0,
    },
    { why: 'an object being deleted is visited at once', o: obj(SETTLED, { deleting: true }), ms: 0 },
    { why: 'a key the cache no longer holds is visited at once', o: undefined, ms: 0 },
  ])('$why', ({ o, ms }) => {
    expect(restartDelayMs(o, TEN_MIN, () => 0.5)).toBe(ms);
  });

  it('spreads 10,000 settled objects evenly over the interval: no minute holds more than 2× its share', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return (seed - 1) / 2_147_483_646;
    };
    const perMinute = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const minute = Math.floor(restartDelayMs(obj(SETTLED), TEN_MIN, random) / 60_000);
      perMinute[minute] = (perMinute[minute] ?? 0) + 1;
    }
    expect(Math.max(...perMinute)).toBeLessThan(2_000);
    expect(Math.min(...perMinute)).toBeGreaterThan(500);
  });
});

describe('ImageShareController.run: a start queues unsettled objects at once and spreads settled ones', () => {
  it('one settled and one new object: only the new one runs now, the settled one within its interval', async () => {
    const { ImageShareController } = await import('../../src/controllers/imageshare/controller.ts');
    const { WorkQueue } = await import('../../src/runtime/workqueue.ts');
    const { SpecWatch } = await import('../../src/runtime/spec-watch.ts');
    const { FakeClock } = await import('./fake-clock.ts');
    const clock = new FakeClock();
    const objects = new Map([
      ['ns/settled', obj(SETTLED)],
      ['ns/new', obj(undefined)],
    ]);
    const cache = {
      get: (k: string) => objects.get(k),
      keys: () => [...objects.keys()],
      list: () => [...objects.values()],
      claimants: () => [],
      synced: () => true,
    };
    const queue = new WorkQueue({ clock });
    const ran: string[] = [];
    const controller = new ImageShareController({
      cache,
      queue,
      reconcile: async ({ key }) => {
        ran.push(key);
        return {};
      },
      specWatch: new SpecWatch(),
      log: { info: () => undefined, warn: () => undefined },
      concurrency: 1,
      secretDataChanged: async () => false,
      resyncIntervalMs: TEN_MIN,
    });
    const running = controller.run(new AbortController().signal);
    await clock.advance(0);
    expect(ran).toEqual(['ns/new']);
    expect(queue.delayed()).toBe(1);
    await clock.advance(TEN_MIN);
    expect(ran).toEqual(['ns/new', 'ns/settled']);
    controller.shutdown();
    await running;
  });
});

describe('unobservedInput: what a new leader takes first', () => {
  it.each([
    {
      why: 'an edit made while leadership moved (generation ahead of observedGeneration) goes first',
      o: obj({ observedGeneration: 1 }),
      want: true,
    },
    {
      why: 'an object no pass has ever seen is restart work: a first install over thousands must not bury an edit',
      o: obj(undefined),
      want: false,
    },
    {
      why: 'a deletion goes first: its cleanup is what the user asked for',
      o: obj(SETTLED, { deleting: true }),
      want: true,
    },
    {
      why: 'an object whose spec a pass has seen waits in the background (even if it is not Ready)',
      o: obj({ observedGeneration: 2 }),
      want: false,
    },
    { why: 'a settled object is background work', o: obj(SETTLED), want: false },
    { why: 'an object the cache no longer holds has nothing to say', o: undefined, want: false },
  ])('$why', ({ o, want }) => {
    expect(unobservedInput(o)).toBe(want);
  });
});
