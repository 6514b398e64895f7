// `npm run emulator -- --seed file.yaml [--port N] [--host 127.0.0.1]`: runs the ECS emulator in the foreground
// until SIGINT/SIGTERM. Prints the endpoint, then a line starting with "ready" that scripts (the demo) wait for.
import { parseArgs } from 'node:util';
import { loadSeedFile, SeedError } from './seed.ts';
import { startEmulator } from './server.ts';

const USAGE = `Usage: npm run emulator -- --seed <file.yaml> [--port <n>] [--host <addr>]

Runs a fake Alibaba Cloud ECS (DescribeImages, DescribeImageSharePermission, ModifyImageSharePermission) that the
unmodified @alicloud/ecs20140526 SDK can talk to with endpoint "<host>:<port>" and protocol "http".

  --seed <file>   world to load (YAML or JSON; see docs/emulator.md). Default: an empty world.
  --port <n>      port to listen on (default 0: any free port)
  --host <addr>   address to bind (default 127.0.0.1)
  --help          show this help

The admin API (unsigned JSON) is on the same port under /_admin/.`;

async function main(): Promise<number> {
  let values: {
    seed?: string | undefined;
    port?: string | undefined;
    host?: string | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err: unknown) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer in 0..65535 (got ${values.port})`);
    return 2;
  }
  try {
    const seed = values.seed === undefined ? {} : await loadSeedFile(values.seed);
    const em = await startEmulator({ seed, port, host: values.host ?? '127.0.0.1' });
    console.log(`endpoint ${em.endpoint}`);
    console.log(`admin ${em.url}/_admin/`);
    console.log(`ready ${em.url}`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await em.close();
    return 0;
  } catch (err: unknown) {
    console.error(err instanceof SeedError ? err.message : `emulator failed: ${String(err)}`);
    return 1;
  }
}

process.exitCode = await main();
