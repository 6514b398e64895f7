// How integration test files find the control plane that test/harness/global-setup.ts started. Jest runs global
// setup in its parent process and test files in worker processes (or in a VM context of the parent with
// --runInBand), so nothing but the process environment and the file system is shared: global setup writes a state
// file and puts its path in IMAGESHARE_TEST_STATE, which workers inherit because they are forked afterwards.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addControlPlaneUser } from './control-plane.ts';

export const STATE_ENV = 'IMAGESHARE_TEST_STATE';

export interface TestState {
  kubeconfigPath: string;
  server: string;
  binDir: string;
  /** The control plane's temp dir (certificates, logs); lets workers issue users with addTestUser. */
  dir: string;
  /** kubectl's discovery cache for this run, kept out of ~/.kube so runs never see each other's API groups. */
  kubeCacheDir: string;
}

/** Where global setup writes the state of the run in process `pid` (one file per run: runs may overlap). */
export function stateFilePath(pid: number): string {
  return join(tmpdir(), 'imageshare-operator-test', `state-${pid}.json`);
}

let cached: TestState | undefined;

/**
 * The state of the current integration run. Throws when called outside the `integration` Jest project (no global
 * setup ran) or when the state file is gone.
 */
export function testState(): TestState {
  if (cached !== undefined) return cached;
  const path = process.env[STATE_ENV];
  if (path === undefined || path === '') {
    throw new Error(
      `${STATE_ENV} is not set: integration tests need test/harness/global-setup.ts (run them through jest)`,
    );
  }
  try {
    cached = JSON.parse(readFileSync(path, 'utf8')) as TestState;
  } catch (err: unknown) {
    throw new Error(`cannot read the integration test state from ${path}`, { cause: err });
  }
  return cached;
}

/** The admin kubeconfig (system:masters) of the test control plane. */
export function testKubeconfig(): string {
  return testState().kubeconfigPath;
}

/** The directory with etcd, kube-apiserver, kubectl and helm. */
export function binDir(): string {
  return testState().binDir;
}

/** The test apiserver's URL, `https://127.0.0.1:<port>`. */
export function testServer(): string {
  return testState().server;
}

/**
 * A kubeconfig for a client-certificate user `name` in `groups` on the test control plane. The user can do nothing
 * until RBAC allows it (the apiserver runs with --authorization-mode=RBAC). Throws when openssl fails.
 */
export function addTestUser(name: string, groups: readonly string[] = []): Promise<string> {
  const state = testState();
  return addControlPlaneUser(state.dir, state.server, name, groups);
}
