// Jest global setup for projects that use the Go helpers: builds them once (progress on stderr) and hands the
// directory to the workers through the environment.
import { buildGoHelpers, GO_HELPERS_ENV } from './go-helpers.ts';

export default async function goHelpersSetup(): Promise<void> {
  process.env[GO_HELPERS_ENV] = await buildGoHelpers();
}
