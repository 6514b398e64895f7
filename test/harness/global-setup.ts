// Jest global setup for the `integration` project: one control plane for the whole run, with crds/ installed and
// Established before any test file starts. The state reaches test files as described in ./env.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { STATE_ENV, stateFilePath, type TestState } from './env.ts';
import { eventually } from './eventually.ts';
import { kubectl } from './kubectl.ts';

const CRDS_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));
const PLANE_KEY = Symbol.for('imageshare-operator.test.control-plane');

/** The control plane of this run, shared with global-teardown.ts through globalThis (same Jest parent process). */
export function runningControlPlane(): ControlPlane | undefined {
  return (globalThis as Record<symbol, ControlPlane | undefined>)[PLANE_KEY];
}

function remember(plane: ControlPlane | undefined): void {
  (globalThis as Record<symbol, ControlPlane | undefined>)[PLANE_KEY] = plane;
}

export default async function globalSetup(): Promise<void> {
  const plane = await startControlPlane();
  remember(plane);
  try {
    const state: TestState = {
      kubeconfigPath: plane.kubeconfigPath,
      server: plane.server,
      binDir: plane.binDir,
      dir: plane.dir,
      kubeCacheDir: join(plane.dir, 'kube-cache'),
    };
    const statePath = stateFilePath(process.pid);
    await mkdir(join(statePath, '..'), { recursive: true });
    await writeFile(statePath, JSON.stringify(state, null, 2));
    process.env[STATE_ENV] = statePath;
    await installCrds();
  } catch (err: unknown) {
    remember(undefined);
    await plane.stop();
    process.stderr.write(`global setup: ${String((err as Error)?.message ?? err)}\n`);
    throw new Error('integration global setup failed', { cause: err });
  }
}

/** Applies crds/ and waits until every CRD is Established and its resources answer a list. */
async function installCrds(): Promise<void> {
  await kubectl(['apply', '-f', CRDS_DIR]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRDS_DIR]);
  await eventually(() => kubectl(['get', 'imageshares.ecs.alicloud.dev', '--all-namespaces']), { timeoutMs: 30_000 });
}
