// The SDK with its models barrel loaded lazily (src/cloud/lazy-barrel.ts) behaves as with the eager barrel: the same
// adapter calls against the emulator give the same results, errors and ECS requests. Jest's registry always loads
// the barrel eagerly, so the lazy run is a plain Node child, as the operator runs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { world } from './adapter-fixtures.ts';
import { lazySdkScenario } from './lazy-sdk-scenario.ts';
import { useEmulator } from './use-emulator.ts';

const emu = useEmulator(() => world({ image: { sharedWith: [] } }));
const scenario = new URL('./lazy-sdk-scenario.ts', import.meta.url).href;

/** Async: the emulator answers from this process's event loop. */
async function inPlainNode(endpoint: string): Promise<{ steps: unknown[]; modelFiles: number }> {
  const script = `
    import { createRequire } from 'node:module';
    const { lazySdkScenario } = await import(${JSON.stringify(scenario)});
    const steps = await lazySdkScenario(process.argv[1]);
    const modelFiles = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('ecs20140526')).length;
    console.log(JSON.stringify({ steps, modelFiles }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, endpoint]);
  return JSON.parse(stdout);
}

/** The emulator's log without what differs between two runs (nonces, timestamps, signatures). */
async function requests() {
  const { calls } = await emu().admin.calls();
  const volatile = new Set(['SignatureNonce', 'Timestamp', 'Signature']);
  return calls.map((c) => [c.action, Object.fromEntries(Object.entries(c.params).filter(([k]) => !volatile.has(k)))]);
}

describe('lazy models barrel, end to end', () => {
  it('gives the same results, errors and requests as the eager barrel', async () => {
    const eager = JSON.parse(JSON.stringify(await lazySdkScenario(emu().endpoint)));
    const eagerRequests = await requests();
    await emu().admin.reset(world({ image: { sharedWith: [] } }));
    const lazy = await inPlainNode(emu().endpoint);
    expect(lazy.modelFiles).toBeLessThan(200);
    expect(lazy.steps).toEqual(eager);
    expect(await requests()).toEqual(eagerRequests);
    // Why: the scenario must reach the paths that construct models and classify errors, or equality proves little.
    expect(JSON.stringify(eager)).toContain('"error"');
    expect(eagerRequests.map(([action]) => action)).toEqual(
      expect.arrayContaining([
        'DescribeImages',
        'DescribeImageSharePermission',
        'ModifyImageSharePermission',
        'TagResources',
        'UntagResources',
      ]),
    );
  });
});
