// One ECS emulator per test file, reset to the file's seed before every test.
import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import type { SeedInput } from '../emulator/seed.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';

/** Registers the lifecycle hooks and returns a getter for the running emulator (valid inside tests). */
export function useEmulator(seed: () => SeedInput): () => Emulator {
  let emulator: Emulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: seed() });
  });
  afterAll(async () => {
    await emulator?.close();
  });
  beforeEach(async () => {
    await emulator?.admin.reset(seed());
  });
  return () => {
    if (emulator === undefined) throw new Error('the emulator is only available inside tests');
    return emulator;
  };
}
