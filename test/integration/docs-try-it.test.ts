// The README's "try it without a cloud account" path on the real apiserver, as far as a cluster without a kubelet
// goes: examples/try-it/emulator.yaml applies server-side and its pod passes restricted Pod Security admission; the
// chart rendered with examples/try-it/values.yaml applies and points the operator at that Service with the key of
// operator-key.yaml; and the emulator world from the ConfigMap, run here with that key, takes the operator from
// first-imageshare.yaml to Ready=True/Synced.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { SeedInput } from '../emulator/seed.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testKubeconfig } from '../harness/env.ts';
import { type Manifest, renderChart } from '../harness/helm.ts';
import { createNamespace, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TRY_IT = join(ROOT, 'examples/try-it');

type Doc = Manifest & Record<string, unknown>;
const docsOf = async (file: string): Promise<Doc[]> =>
  parseAllDocuments(await readFile(join(TRY_IT, file), 'utf8'))
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
const find = (docs: readonly Doc[], kind: string): Doc => {
  const d = docs.find((x) => x.kind === kind);
  if (!d) throw new Error(`no ${kind}`);
  return d;
};

let emulatorDocs: Doc[];
let keySecret: { metadata: { name: string; namespace: string }; stringData: Record<string, string> };

beforeAll(async () => {
  emulatorDocs = await docsOf('emulator.yaml');
  keySecret = find(await docsOf('operator-key.yaml'), 'Secret') as unknown as typeof keySecret;
});

describe('examples/try-it on the real apiserver', () => {
  it('emulator.yaml applies server-side, and its pod is admitted under the namespace restricted profile', async () => {
    const r = await kubectl(['apply', '--server-side', '-f', join(TRY_IT, 'emulator.yaml')]);
    expect(r.stdout).toMatch(/deployment\.apps\/ecs-emulator serverside-applied/);
    expect(r.stdout).toMatch(/service\/ecs-emulator serverside-applied/);
    // No kubelet here, so no ReplicaSet controller: submit the pod the Deployment would create, as a dry run.
    const deployment = find(emulatorDocs, 'Deployment') as Doc & { spec: { template: Record<string, unknown> } };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ecs-emulator-probe', namespace: 'ecs-emulator' } };
    const podSpec = { ...pod, ...deployment.spec.template, metadata: pod.metadata };
    const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: stringify(podSpec), allowFail: true });
    expect({ code: dry.code, err: dry.stderr }).toEqual({ code: 0, err: '' });
  });

  it('the chart with values.yaml points the operator at that Service with the key Secret, and applies', async () => {
    const values = parse(await readFile(join(TRY_IT, 'values.yaml'), 'utf8')) as {
      operator: { ecsEndpoint: string };
      credentials: { existingSecret: string };
    };
    const service = find(emulatorDocs, 'Service') as Doc & { spec: { ports: Array<{ port: number }> } };
    expect(values.operator.ecsEndpoint).toBe(
      `${service.metadata.name}.${service.metadata.namespace}.svc:${service.spec.ports[0]?.port}`,
    );
    expect(values.credentials.existingSecret).toBe(keySecret.metadata.name);
    const ms = await renderChart({ valuesFiles: [join(TRY_IT, 'values.yaml')], set: { 'crds.install': 'false' } });
    const text = JSON.stringify(ms.find((m) => m.kind === 'Deployment'));
    expect(text).toContain(`--ecs-endpoint=${values.operator.ecsEndpoint}`);
    expect(text).toContain('--ecs-protocol=http');
    expect(text).toContain(`"secretKeyRef":{"name":"${keySecret.metadata.name}","key":"accessKeyId"}`);
    const ns = keySecret.metadata.namespace;
    await kubectl(['create', 'namespace', ns], { allowFail: true });
    await kubectl(['apply', '--server-side', '-f', join(TRY_IT, 'operator-key.yaml')]);
    const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', '-'], {
      input: ms.map((m) => stringify(m)).join('---\n'),
      allowFail: true,
    });
    expect({ code: applied.code, err: applied.stderr }).toEqual({ code: 0, err: '' });
  });
});

describe('examples/try-it: the emulator world takes the first ImageShare to Synced', () => {
  let emu: Emulator;
  let op: OperatorProcess;
  let ns: string;

  beforeAll(async () => {
    const world = find(emulatorDocs, 'ConfigMap') as Doc & { data: Record<string, string> };
    emu = await startEmulator({ seed: parse(world.data['world.yaml'] ?? '') as SeedInput });
    ns = await createNamespace('try-it');
    op = await startOperator({
      kubeconfig: testKubeconfig(),
      ecsEndpoint: emu.endpoint,
      accessKeyId: keySecret.stringData.accessKeyId ?? '',
      accessKeySecret: keySecret.stringData.accessKeySecret ?? '',
      namespaces: [ns],
    });
  }, 120_000);
  afterAll(async () => {
    await op?.stop();
    await emu?.close();
  });

  it('first-imageshare.yaml (moved to a fresh namespace) reaches Ready=True/Synced, shared as its spec says', async () => {
    const share = find(await docsOf('first-imageshare.yaml'), 'ImageShare') as Doc & {
      spec: { regionId: string; imageId: string; accounts: string[] };
    };
    await kubectl(['apply', '--server-side', '-f', '-'], {
      input: stringify({ ...share, metadata: { ...share.metadata, namespace: ns } }),
    });
    await kubectl(['wait', '--for=condition=Ready', `imageshare/${share.metadata.name}`, '-n', ns, '--timeout=60s']);
    const reason = await kubectl([
      'get',
      'imageshare',
      share.metadata.name,
      '-n',
      ns,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].reason}',
    ]);
    expect(reason.stdout).toBe('Synced');
    const image = await emu.admin.image(share.spec.regionId, share.spec.imageId);
    expect(image.sharedWith.map((s) => s.id).sort()).toEqual([...share.spec.accounts].sort());
  });
});
