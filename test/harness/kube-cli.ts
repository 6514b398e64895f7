// kubectl for the demo: the real binary from the control plane's binDir (so printer columns and events look exactly
// as a user sees them), pinned to one kubeconfig and a private discovery cache (a cache shared with other runs would
// not know the freshly installed CRD yet).
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runProcess } from './run-process.ts';

export interface KubeRunOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
  /** Kill kubectl after this long (default 60 s), so a hung call fails the step instead of hanging the demo. */
  timeoutMs?: number;
}

export interface KubeResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class KubeCli {
  readonly kubectlPath: string;
  readonly kubeconfig: string;
  readonly cacheDir: string;

  constructor(kubectlPath: string, kubeconfig: string, cacheDir: string) {
    this.kubectlPath = kubectlPath;
    this.kubeconfig = kubeconfig;
    this.cacheDir = cacheDir;
  }

  /**
   * Runs `kubectl args`. Throws when kubectl cannot be spawned, runs longer than `timeoutMs`, or exits non-zero
   * (unless `allowFail`); the error carries kubectl's stderr.
   */
  async run(args: readonly string[], opts: KubeRunOptions = {}): Promise<KubeResult> {
    const env = { ...process.env, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: this.cacheDir };
    const r = await runProcess(this.kubectlPath, args, {
      env,
      timeoutMs: opts.timeoutMs ?? 60_000,
      ...(opts.input ? { input: opts.input } : {}),
    });
    if (r.code !== 0 && opts.allowFail !== true)
      throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
    return r;
  }

  /** `kubectl get <resource> <name> -n <namespace> -o json`, parsed. Throws when the object does not exist. */
  async getJson<T>(resource: string, namespace: string, name: string): Promise<T> {
    const { stdout } = await this.run(['get', resource, name, '-n', namespace, '-o', 'json']);
    return JSON.parse(stdout) as T;
  }
}

/** The first executable `kubectl` on PATH, or undefined when there is none. */
export function kubectlOnPath(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'kubectl');
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
