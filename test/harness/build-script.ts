// Runs one of the project's build scripts (test/control-plane/build.sh, test/support/go/build.sh): instant when cached,
// progress on this process' stderr when not. Both print the directory of what they built on their last stdout line.
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs `script` and returns the directory it printed last, after checking that every one of `executables` is
 * executable there. Throws when the build fails or something is missing.
 */
export async function runBuildScript(script: string, executables: readonly string[]): Promise<string> {
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${script} exited with ${String(code)}; see its output above`);
  const dir = stdout.trim().split('\n').at(-1)?.trim() ?? '';
  for (const name of executables) {
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
    } catch (err: unknown) {
      throw new Error(`${script} reported ${JSON.stringify(dir)} but ${name} is not executable there`, { cause: err });
    }
  }
  return dir;
}
