// The demo's pure parts: flag parsing, moving the examples into another namespace, deciding when the watched
// objects have settled, and the teardown order. The demo itself runs end to end in test/integration/demo.test.ts.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import type { Condition, ImageShare } from '../../src/api/types.ts';
import { parseDemoArgs } from '../demo/demo-args.ts';
import { loadExamples, retarget } from '../demo/examples.ts';
import { COMMUNITY, EXPECTED_REASONS, FAILING } from '../demo/scenario.ts';
import { checkExpectedReasons, settledVerdict } from '../demo/settle.ts';
import { Teardown } from '../demo/teardown.ts';
import { isSettled, withoutAge } from '../demo/watch-imageshares.ts';

const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

describe('parseDemoArgs', () => {
  const rows: Array<{ why: string; argv: string[]; expected: ReturnType<typeof parseDemoArgs> }> = [
    {
      why: 'no flags: a fresh control plane, the documented namespace, 2-minute waits',
      argv: [],
      expected: { kind: 'run', options: { keep: false, namespace: 'platform-images', waitTimeoutMs: 120_000 } },
    },
    {
      why: 'the integration test points the demo at its apiserver and a namespace of its own',
      argv: ['--kubeconfig', '/tmp/kc', '--namespace', 'demo-1a2b', '--keep', '--timeout', '30'],
      expected: {
        kind: 'run',
        options: { keep: true, kubeconfig: '/tmp/kc', namespace: 'demo-1a2b', waitTimeoutMs: 30_000 },
      },
    },
    { why: '--help wins over everything else', argv: ['--keep', '--help'], expected: { kind: 'help' } },
    {
      why: 'a typo must not silently run the default demo',
      argv: ['--kep'],
      expected: { kind: 'error', message: expect.stringContaining("Unknown option '--kep'") as unknown as string },
    },
    {
      why: 'a namespace kubectl would refuse is caught before anything starts',
      argv: ['--namespace', 'Platform_Images'],
      expected: { kind: 'error', message: expect.stringContaining('DNS label') as unknown as string },
    },
    {
      why: 'a zero timeout could never succeed',
      argv: ['--timeout', '0'],
      expected: { kind: 'error', message: expect.stringContaining('--timeout') as unknown as string },
    },
    {
      why: 'a fractional timeout is a mistake, not a request for milliseconds',
      argv: ['--timeout', '1.5'],
      expected: { kind: 'error', message: expect.stringContaining('--timeout') as unknown as string },
    },
    {
      why: "an empty kubeconfig path would fall back to ~/.kube/config behind the user's back",
      argv: ['--kubeconfig', ''],
      expected: { kind: 'error', message: '--kubeconfig needs a path' },
    },
  ];
  it.each(rows)('$why', ({ argv, expected }) => {
    expect(parseDemoArgs(argv)).toEqual(expected);
  });
});

describe('examples', () => {
  it('retarget moves namespaced objects into the namespace and renames a Namespace object to it', () => {
    const text =
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: platform-images\n---\n# c\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: platform-images\n';
    const out = retarget('x.yaml', text, 'demo-9');
    expect(out.objects).toEqual([
      { kind: 'Namespace', name: 'demo-9' },
      { kind: 'Secret', name: 's' },
    ]);
    expect(out.manifest).toContain('name: demo-9');
    expect(out.manifest).toContain('namespace: demo-9');
    expect(out.manifest).not.toContain('platform-images');
  });

  it('retarget refuses a document without kind or name instead of applying half a file', () => {
    expect(() => retarget('bad.yaml', 'apiVersion: v1\nmetadata: {}\n', 'ns')).toThrow(
      'bad.yaml: document 1 has no kind or metadata.name',
    );
    expect(() => retarget('bad.yaml', 'a: [\n', 'ns')).toThrow('bad.yaml: not valid YAML');
  });

  it('loadExamples puts the Namespace first, so a single pass of kubectl apply works', async () => {
    const files = await loadExamples(EXAMPLES_DIR, 'platform-images');
    expect(files[0]?.objects.map((o) => o.kind)).toEqual(['Namespace']);
    expect(files.slice(1).every((f) => f.objects.every((o) => o.kind !== 'Namespace'))).toBe(true);
  });

  it('every example ImageShare the demo expects exists in examples/, and every example lives in platform-images', async () => {
    const names: string[] = [];
    for (const file of (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml'))) {
      const text = await readFile(`${EXAMPLES_DIR}${file}`, 'utf8');
      const { objects } = retarget(file, text, 'platform-images');
      names.push(...objects.filter((o) => o.kind === 'ImageShare').map((o) => o.name));
      expect(text.includes('namespace: platform-images') || text.includes('kind: Namespace')).toBe(true);
    }
    expect(names.sort()).toEqual(Object.keys(EXPECTED_REASONS).sort());
  });
});

function cond(type: Condition['type'], status: Condition['status'], reason: string): Condition {
  return {
    type,
    status,
    reason,
    message: `${reason}.`,
    observedGeneration: 1,
    lastTransitionTime: '2026-11-01T10:00:00Z',
  };
}

function obj(
  name: string,
  generation: number,
  observedGeneration: number | undefined,
  conditions: Condition[],
): ImageShare {
  return {
    apiVersion: 'ecs.alicloud.dev/v1alpha1',
    kind: 'ImageShare',
    metadata: { name, namespace: 'platform-images', generation },
    spec: { regionId: 'cn-hangzhou', imageId: 'm-bp18ygjuqnwhechc1234' },
    ...(observedGeneration === undefined ? {} : { status: { observedGeneration, conditions } }),
  };
}

describe('isSettled', () => {
  const rows: Array<{ why: string; o: ImageShare; settled: boolean }> = [
    {
      why: 'Ready=True at the current generation is done',
      o: obj('a', 1, 1, [cond('Ready', 'True', 'Synced')]),
      settled: true,
    },
    {
      why: 'Stalled is done: only a spec change helps',
      o: obj('a', 1, 1, [cond('Ready', 'False', 'ImageDeprecated'), cond('Stalled', 'True', 'ImageDeprecated')]),
      settled: true,
    },
    {
      why: 'Plan mode rests on PlanPending without Stalled or Reconciling',
      o: obj('a', 1, 1, [cond('Ready', 'False', 'PlanPending')]),
      settled: true,
    },
    {
      why: 'Reconciling is work in flight (or a transient retry)',
      o: obj('a', 1, 1, [
        cond('Ready', 'False', 'ImageNotAvailable'),
        cond('Reconciling', 'True', 'ImageNotAvailable'),
      ]),
      settled: false,
    },
    {
      why: 'a Ready=True computed for an older spec says nothing about the new one',
      o: obj('a', 2, 1, [cond('Ready', 'True', 'Synced')]),
      settled: false,
    },
    { why: 'an object the operator has not seen yet has no status', o: obj('a', 1, undefined, []), settled: false },
  ];
  it.each(rows)('$why', ({ o, settled }) => {
    expect(isSettled(o)).toBe(settled);
  });
});

describe('settledVerdict and checkExpectedReasons', () => {
  const synced = (name: string) => obj(name, 1, 1, [cond('Ready', 'True', 'Synced')]);
  const all = () =>
    Object.entries(EXPECTED_REASONS).map(([name, reason]) =>
      reason === 'Synced'
        ? synced(name)
        : obj(name, 1, 1, [
            cond('Ready', 'False', reason),
            ...(reason === FAILING.reason ? [cond('Stalled', 'True', reason)] : []),
          ]),
    );

  it('is done when every example has settled, and lists what is missing otherwise', () => {
    expect(settledVerdict(all(), false)).toEqual({ done: true, pending: [] });
    const missing = all().filter((o) => o.metadata.name !== FAILING.name);
    expect(settledVerdict(missing, false)).toEqual({ done: false, pending: [`${FAILING.name}: not created yet`] });
  });

  it('lets the community object wait for its image only while the image is being built', () => {
    const building = all().map((o) =>
      o.metadata.name === COMMUNITY.name
        ? obj(COMMUNITY.name, 1, 1, [
            cond('Ready', 'False', 'ImageNotAvailable'),
            cond('Reconciling', 'True', 'ImageNotAvailable'),
          ])
        : o,
    );
    expect(settledVerdict(building, true).done).toBe(true);
    expect(settledVerdict(building, false).pending).toEqual([
      `${COMMUNITY.name}: Ready=False ImageNotAvailable (ImageNotAvailable.) at generation 1/1`,
    ]);
  });

  it('checkExpectedReasons names an example that settled on the wrong reason', () => {
    expect(() => checkExpectedReasons(all())).not.toThrow();
    const wrong = all().map((o) => (o.metadata.name === FAILING.name ? synced(FAILING.name) : o));
    expect(() => checkExpectedReasons(wrong)).toThrow(
      `${FAILING.name}: Ready=True Synced (Synced.) at generation 1/1; expected reason ${FAILING.reason}`,
    );
  });
});

describe('withoutAge', () => {
  it('ignores the Age column, so the table is reprinted only when something else changed', () => {
    const a = 'NAME   READY   REASON   AGE\ngolden True    Synced   9s\n';
    expect(withoutAge(a)).toBe(withoutAge(a.replace('9s', '1m2s')));
    expect(withoutAge(a)).not.toBe(withoutAge(a.replace('Synced', 'Failed')));
  });
});

describe('Teardown', () => {
  it('stops newest first, keeps going past a failure, and runs only once', async () => {
    const order: string[] = [];
    const t = new Teardown();
    t.add('control plane', async () => void order.push('control plane'));
    t.add('emulator', async () => {
      order.push('emulator');
      throw new Error('port busy');
    });
    t.add('operator', async () => void order.push('operator'));
    const lines: string[] = [];
    const first = await t.run((l) => lines.push(l));
    const second = await t.run((l) => lines.push(l));
    expect(order).toEqual(['operator', 'emulator', 'control plane']);
    expect(first).toEqual({ failures: ['emulator: port busy'] });
    expect(second).toBe(first);
    expect(lines).toEqual(['stopped: operator', 'FAILED to stop emulator: port busy', 'stopped: control plane']);
  });
});
