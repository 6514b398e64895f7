// Command-line flags of `npm run demo`, parsed into one frozen options object or a usage error.
import { parseArgs } from 'node:util';
import { DEFAULT_NAMESPACE } from './scenario.ts';

export const USAGE = `Usage: npm run demo -- [--keep] [--kubeconfig <path>] [--namespace <name>] [--timeout <seconds>]

Runs imageshare-operator end to end on this machine, with no cloud account and no cluster needed:
  1. builds (first run: 10-20 min, with progress) or reuses etcd, kube-apiserver and kubectl;
  2. starts them, the ECS emulator (seeded with test/emulator/sample-world.yaml) and the operator;
  3. applies examples/*.yaml with kubectl;
  4. shows the ImageShares going Ready (kubectl get ishare);
  5. changes the cloud out of band and shows the operator correcting the drift;
  6. shows the failing example and its reason;
  7. prints the ECS calls the operator made and tears everything down.

  --keep               leave everything running at the end; prints the kubeconfig, the emulator's URLs and how to
                       stop (Ctrl-C)
  --kubeconfig <path>  use an existing cluster instead of starting a control plane: the CRD is applied with
                       kubectl (found on PATH, else built/reused like step 1) and the demo's objects are deleted
                       at the end
  --namespace <name>   namespace for the examples (default ${DEFAULT_NAMESPACE}); created by examples/namespace.yaml
  --timeout <seconds>  how long each wait may take before the demo fails (default 120)
  --help               show this help

Exits 0 when every step showed what it should, 1 when a step failed (everything started is still torn down),
2 on a usage error.`;

export interface DemoOptions {
  keep: boolean;
  kubeconfig?: string;
  namespace: string;
  waitTimeoutMs: number;
}

export type ParsedArgs = { kind: 'run'; options: DemoOptions } | { kind: 'help' } | { kind: 'error'; message: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Parses `argv` (without node and the script). Never throws: bad input becomes `{ kind: 'error' }`. */
export function parseDemoArgs(argv: readonly string[]): ParsedArgs {
  let values: { keep?: boolean; kubeconfig?: string; namespace?: string; timeout?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        keep: { type: 'boolean' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err: unknown) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  if (values.help === true) return { kind: 'help' };
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace))
    return {
      kind: 'error',
      message: `--namespace must be a DNS label (lower-case letters, digits, '-'), got ${JSON.stringify(namespace)}`,
    };
  const timeoutSeconds = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    return {
      kind: 'error',
      message: `--timeout must be a whole number of seconds in 1..3600, got ${JSON.stringify(values.timeout)}`,
    };
  }
  if (values.kubeconfig === '') return { kind: 'error', message: '--kubeconfig needs a path' };
  const options: DemoOptions = { keep: values.keep === true, namespace, waitTimeoutMs: timeoutSeconds * 1000 };
  if (values.kubeconfig !== undefined) options.kubeconfig = values.kubeconfig;
  return { kind: 'run', options: Object.freeze(options) };
}
