// Jest global teardown for the `integration` project: stops the control plane global-setup.ts started and removes
// the state file. Processes cannot outlive the run even if this never runs (see managed-process.ts).
import { rm } from 'node:fs/promises';
import { STATE_ENV } from './env.ts';
import { runningControlPlane } from './global-setup.ts';

export default async function globalTeardown(): Promise<void> {
  await runningControlPlane()?.stop();
  const statePath = process.env[STATE_ENV];
  if (statePath !== undefined && statePath !== '') await rm(statePath, { force: true });
}
