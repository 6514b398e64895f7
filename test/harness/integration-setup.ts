// Jest global setup for the integration project: the Go helpers (the operator tests judge real statuses with
// Argo CD's Lua VM and kstatus), then the shared control plane (./global-setup.ts).
import globalSetup from './global-setup.ts';
import goHelpersSetup from './go-helpers-setup.ts';

export default async function integrationSetup(): Promise<void> {
  await goHelpersSetup();
  await globalSetup();
}
