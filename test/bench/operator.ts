// Starts the real operator process for the benchmark: the integration harness's startOperator with the emulator
// as its cloud and one watched namespace, running the compiled dist/main.js as the container image does (running
// src/main.ts would add Node's TypeScript stripping to every memory figure).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from '../harness/control-plane.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';

export function startBenchOperator(
  plane: ControlPlane,
  ecsEndpoint: string,
  key: { accessKeyId: string; accessKeySecret: string },
  namespace: string,
  extraArgs: string[],
  launcher?: string[],
): Promise<OperatorProcess> {
  return startOperator({
    entry: join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'main.js'),
    kubeconfig: plane.kubeconfigPath,
    ecsEndpoint,
    accessKeyId: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
    namespaces: [namespace],
    // info, not debug: one line per reconcile is enough, and the harness waits for the info line with the ports.
    extraArgs: ['--log-level', 'info', ...extraArgs],
    ...(launcher === undefined ? {} : { launcher }),
  });
}

/** The node flags of the image's ENTRYPOINT (between the node binary and the script), e.g. --max-semi-space-size=4. */
export function imageNodeFlags(dockerfile: string): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (line === undefined) throw new Error('Dockerfile has no exec-form ENTRYPOINT');
  const argv = JSON.parse(line) as string[];
  return argv.slice(1).filter((a) => a.startsWith('--'));
}
