// Every example under examples/ is applied, unchanged but for the namespace, with server-side apply to the real
// kube-apiserver (admission: schema, CEL rules), and each reaches the state its own comment promises, with the
// operator running against the emulator world the examples are written for (test/emulator/sample-world.yaml).
// Each row says which comment promises what; a row also checks that the comment still says so.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { type ExampleFile, loadExamples } from '../demo/examples.ts';
import type { SeedInput } from '../emulator/seed.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testKubeconfig } from '../harness/env.ts';
import { kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');

/** file, object, the Ready status and reason it must reach, why, and the comment words that promise it. */
const PROMISES: Array<[string, string, string, string, string, RegExp]> = [
  [
    'golden-ubuntu.yaml',
    'golden-ubuntu-2404',
    'True',
    'Synced',
    'Authoritative: the list is the truth',
    /exactly the accounts/,
  ],
  [
    'additive-team-shares.yaml',
    'ubuntu-cmk-team-shares',
    'True',
    'Synced',
    'Additive grants its accounts',
    /only adds the\s+# accounts below/,
  ],
  [
    'community-publish.yaml',
    'ubuntu-2404-next-community',
    'True',
    'Synced',
    'published once ECS built it',
    /publishes once the image is Available/,
  ],
  [
    'plan-mode.yaml',
    'golden-ubuntu-2404-eu',
    'False',
    'PlanPending',
    'Plan mode never writes, so changes stay pending',
    /Ready is False with reason PlanPending/,
  ],
  [
    'credentials-secret.yaml',
    'partner-event-image',
    'True',
    'Synced',
    'shared with the Secret’s key',
    /shared with two partner accounts/,
  ],
  [
    'failing-deprecated.yaml',
    'golden-ubuntu-2204',
    'False',
    'ImageDeprecated',
    'a deprecated image is not shared anew',
    /Stalled=True with reason ImageDeprecated/,
  ],
];

let emu: Emulator;
let op: OperatorProcess;
let examples: ExampleFile[];
const ns = `examples-${process.pid}`;

beforeAll(async () => {
  const world = parse(await readFile(join(ROOT, 'test/emulator/sample-world.yaml'), 'utf8')) as SeedInput;
  emu = await startEmulator({ seed: world });
  const owner = world.owners?.[0]?.keys?.[0];
  op = await startOperator({
    kubeconfig: testKubeconfig(),
    ecsEndpoint: emu.endpoint,
    accessKeyId: String(owner?.accessKeyId),
    accessKeySecret: String(owner?.accessKeySecret),
    namespaces: [ns],
  });
  examples = await loadExamples(EXAMPLES, ns);
}, 120_000);
afterAll(async () => {
  await op?.stop();
  await emu?.close();
});

const ready = async (name: string) =>
  (
    await kubectl([
      'get',
      'imageshare',
      name,
      '-n',
      ns,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}',
    ])
  ).stdout;

describe('examples/', () => {
  it('every example applies with server-side apply (admission accepts it as written)', async () => {
    expect(examples.map((e) => e.file).sort()).toEqual(['namespace.yaml', ...PROMISES.map((p) => p[0])].sort());
    for (const e of examples) {
      const r = await kubectl(['apply', '--server-side', '-f', '-'], { input: e.manifest, allowFail: true });
      expect({ file: e.file, code: r.code, err: r.stderr }).toEqual({ file: e.file, code: 0, err: '' });
    }
  });

  it.each(PROMISES)(
    '%s: %s reaches Ready=%s/%s (%s), as its comment says',
    async (file, name, status, reason, _why, words) => {
      expect(await readFile(join(EXAMPLES, file), 'utf8')).toMatch(words);
      if (file === 'community-publish.yaml') {
        // Its comment promises ImageNotAvailable while ECS builds the image, then publishing once it is Available.
        const deadline = Date.now() + 40_000;
        while (!(await ready(name)).endsWith('/ImageNotAvailable') && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 300));
        expect(await ready(name)).toBe('False/ImageNotAvailable');
        const image = (await kubectl(['get', 'imageshare', name, '-n', ns, '-o', 'jsonpath={.spec.imageId}'])).stdout;
        await emu.admin.patchImage('cn-hangzhou', image, { status: 'Available' });
      }
      const deadline = Date.now() + 40_000;
      while ((await ready(name)) !== `${status}/${reason}` && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 300));
      expect(await ready(name)).toBe(`${status}/${reason}`);
    },
  );
});
