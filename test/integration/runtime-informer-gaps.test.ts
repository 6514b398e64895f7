// The supervised informer (src/kube/informer.ts) across gaps, against a real apiserver (issue 20 items 5, 8, 9):
// what the Secret cache holds, objects re-created while the watch was down, bookmarks on a quiet scope, and a
// credential that fails when the watch reconnects.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi, KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { type Change, ImageShareInformer } from '../../src/kube/imageshare-informer.ts';
import { Informer } from '../../src/kube/informer.ts';
import { SecretInformer } from '../../src/kube/secret-informer.ts';
import { compactEtcd, restartApiServer, startControlPlane } from '../harness/control-plane.ts';
import { eventually } from '../harness/eventually.ts';
import { KubeCli } from '../harness/kube-cli.ts';
import type { ManagedProcess } from '../harness/managed-process.ts';
import { applyYaml, createNamespace, getJson, kubectl } from '../harness/kubectl.ts';
import { type CountingRelay, countingRelay, through } from './counting-relay.ts';
import { adminKubeConfig, imageShareManifest } from './runtime-fixtures.ts';

const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(stops.map((s) => s()));
});
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('Secret informer: metadata only', () => {
  it('after a sync and a watched update, no byte of any Secret value is in the cache (kubectl apply included)', async () => {
    const ns = await createNamespace('rt-secret-bytes');
    const values = Array.from({ length: 5 }, () => `v-${randomBytes(12).toString('hex')}`);
    for (const [i, value] of values.slice(0, 4).entries()) {
      // kubectl apply keeps the whole manifest, values included, in the last-applied-configuration annotation.
      await applyYaml({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `s${i}`, namespace: ns },
        stringData: { k: value },
      });
    }
    const informer = new SecretInformer(adminKubeConfig(), {
      namespaces: [ns],
      onKey: () => undefined,
      log: quiet,
      pageSize: 2,
    });
    stops.push(() => informer.stop());
    await informer.start();
    expect(informer.keys().sort()).toEqual(['s0', 's1', 's2', 's3'].map((n) => `${ns}/${n}`)); // every page listed
    // One more through the watch, and one changed through the watch.
    await applyYaml({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's4', namespace: ns },
      stringData: { k: values[4] },
    });
    await applyYaml({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's0', namespace: ns },
      stringData: { k: `${values[0]}x` },
    });
    const s0 = await getJson<{ metadata: { resourceVersion: string } }>('secret', ns, 's0');
    await eventually(async () =>
      expect(informer.get(`${ns}/s0`)?.metadata?.resourceVersion).toBe(s0.metadata.resourceVersion),
    );
    await eventually(async () => expect(informer.keys()).toHaveLength(5));

    const cached = JSON.stringify(informer.list());
    for (const v of values) {
      expect(cached).not.toContain(v);
      expect(cached).not.toContain(Buffer.from(v).toString('base64'));
    }
    expect(cached).not.toContain('last-applied-configuration');
    expect(cached).not.toContain('managedFields');
    expect(cached).not.toContain('annotations');
  });
});

let relay: CountingRelay;
beforeAll(async () => {
  relay = await countingRelay(adminKubeConfig().getCurrentCluster()?.server ?? '');
  stops.push(() => relay.close());
});

describe('Secret informer: what crosses the wire', () => {
  it('the paginated LIST and the WATCH carry metadata only: large Secret values never reach the process', async () => {
    const ns = await createNamespace('rt-secret-wire');
    const dir = mkdtempSync(join(tmpdir(), 'secret-wire-'));
    const big = (name: string) => {
      const path = join(dir, name);
      writeFileSync(path, randomBytes(300_000)); // about 400 kB once base64-encoded in the Secret
      return path;
    };
    for (const name of ['a', 'b', 'c'])
      await kubectl(['create', 'secret', 'generic', name, '-n', ns, `--from-file=v=${big(name)}`]);
    const informer = new SecretInformer(
      through(adminKubeConfig(), relay.url, () => new KubeConfig()),
      {
        namespaces: [ns],
        onKey: () => undefined,
        log: quiet,
        pageSize: 2,
      },
    );
    stops.push(() => informer.stop());
    const before = relay.received();
    await informer.start();
    expect(informer.keys()).toHaveLength(3);
    await kubectl(['create', 'secret', 'generic', 'd', '-n', ns, `--from-file=v=${big('d')}`]);
    await eventually(async () => expect(informer.keys()).toHaveLength(4));
    // Why: with values included this is over 1.6 MB; every relist of thousands of Helm release Secrets would repeat it.
    expect(relay.received() - before).toBeLessThan(100_000);
  });
});

describe('ImageShare informer across watch gaps', () => {
  it('an object deleted and re-created during a watch gap that ends in 410 Gone is new input (by uid)', async () => {
    // A private control plane: the gap is a relay outage across an apiserver restart over compacted etcd, so the
    // informer's resumed watch gets a real 410 and relists, finding the same name at the same generation.
    const cp = await startControlPlane();
    let restarted: ManagedProcess | undefined;
    stops.push(async () => {
      await restarted?.stop(2_000);
      await cp.stop();
    });
    const cli = new KubeCli(join(cp.binDir, 'kubectl'), cp.kubeconfigPath, mkdtempSync(join(tmpdir(), 'gap-kube-')));
    const crd = new URL('../../crds/imageshare.yaml', import.meta.url).pathname;
    await cli.run(['apply', '--server-side', '-f', crd]);
    await cli.run(['wait', '--for', 'condition=established', 'crd/imageshares.ecs.alicloud.dev', '--timeout=60s']);
    await cli.run(['create', 'namespace', 'gap']);
    const manifest = stringify(imageShareManifest('gap', 'same'));
    await cli.run(['apply', '-f', '-'], { input: manifest });
    const privateRelay = await countingRelay(cp.server);
    stops.push(() => privateRelay.close());
    const admin = new KubeConfig();
    admin.loadFromFile(cp.kubeconfigPath);
    const events: Array<[string, Change]> = [];
    const infos: string[] = [];
    const informer = new ImageShareInformer(
      through(admin, privateRelay.url, () => new KubeConfig()),
      {
        namespaces: ['gap'],
        onKey: (key, change) => events.push([key, change]),
        log: { ...quiet, info: (_o: object, msg: string) => infos.push(msg) },
        initialBackoffMs: 200,
        maxBackoffMs: 1_000,
      },
    );
    stops.push(() => informer.stop());
    await informer.start();
    const before = informer.get('gap/same')?.metadata.uid;
    expect(events).toEqual([['gap/same', 'restart']]);

    privateRelay.outage();
    await cli.run(['delete', 'imageshare', 'same', '-n', 'gap']);
    await cli.run(['apply', '-f', '-'], { input: manifest }); // same name, same generation (1), new uid
    restarted = await restartApiServer(cp, async () => void (await compactEtcd(cp.etcdUrl)), 2_000);
    await eventually(async () => expect((await cli.run(['get', '--raw', '/readyz'])).stdout).toContain('ok'), {
      timeoutMs: 60_000,
    });
    privateRelay.restore();
    await eventually(async () => expect(informer.get('gap/same')?.metadata.uid).not.toBe(before), {
      timeoutMs: 30_000,
    });
    expect(infos).toContain('ImageShare watch expired (410 Gone); relisting');
    // Why: filtered as "no change" (same generation), the new object would wait for the daily resync.
    expect(events.slice(1)).toContainEqual(['gap/same', 'input']);
  }, 180_000);

  it('a quiet scope resumes its watch from a fresh resourceVersion (bookmarks), not the one of its LIST', async () => {
    const quietNs = await createNamespace('rt-informer-quiet');
    const busyNs = await createNamespace('rt-informer-busy');
    const informer = new ImageShareInformer(adminKubeConfig(), {
      namespaces: [quietNs],
      onKey: () => undefined,
      log: quiet,
      watchTimeoutSeconds: () => 4,
    });
    stops.push(() => informer.stop());
    await informer.start();
    const listed = informer.resourceVersions()[quietNs];
    await applyYaml(imageShareManifest(busyNs, 'elsewhere')); // moves the cluster's resourceVersion on
    const elsewhere = await getJson<{ metadata: { resourceVersion: string } }>('imageshare', busyNs, 'elsewhere');
    // The server sends a bookmark 2 s before it ends each 4 s watch; no event ever arrives in the quiet namespace.
    await eventually(
      async () =>
        expect(BigInt(informer.resourceVersions()[quietNs] ?? '0')).toBeGreaterThanOrEqual(
          BigInt(elsewhere.metadata.resourceVersion),
        ),
      { timeoutMs: 20_000 },
    );
    expect(informer.resourceVersions()[quietNs]).not.toBe(listed);
  });

  it('a credential that fails when the watch reconnects is a watch error and a retry, not an unhandled rejection', async () => {
    const ns = await createNamespace('rt-informer-reauth');
    // Like an exec plugin that fails, or a token or CA file that cannot be read, on the watch's re-authentication.
    class FlakyAuth extends KubeConfig {
      failing = false;
      override async applySecurityAuthentication(ctx: RequestContext): Promise<void> {
        if (this.failing && ctx.getUrl().includes('watch=true')) throw new Error('exec plugin exited with status 1');
        await super.applySecurityAuthentication(ctx);
      }
    }
    const kc = through(adminKubeConfig(), adminKubeConfig().getCurrentCluster()?.server ?? '', () => new FlakyAuth());
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    stops.push(async () => {
      process.off('unhandledRejection', onUnhandled);
    });
    const warnings: string[] = [];
    const keys: string[] = [];
    const informer = new ImageShareInformer(kc, {
      namespaces: [ns],
      onKey: (key) => keys.push(key),
      log: { ...quiet, warn: (_o: object, msg: string) => warnings.push(msg) },
      initialBackoffMs: 200,
      maxBackoffMs: 400,
      watchTimeoutSeconds: () => 2,
    });
    stops.push(() => informer.stop());
    await informer.start();
    kc.failing = true; // the next reconnect (within 2 s) fails to authenticate
    await eventually(async () => expect(warnings).toContain('ImageShare informer stopped on an error; restarting'));
    kc.failing = false;
    await applyYaml(imageShareManifest(ns, 'after'));
    await eventually(async () => expect(keys).toContain(`${ns}/after`)); // retried, and watching again
    expect(unhandled).toEqual([]);
  });
});

describe('an optional kind whose CRD is not installed (absentIsEmpty)', () => {
  it('counts as an empty cache so nothing waits on it, and fills once the CRD is installed', async () => {
    const suffix = randomBytes(3).toString('hex');
    const group = `absent${suffix}.test.invalid`;
    const plural = 'widgets';
    const kc = adminKubeConfig();
    const api = kc.makeApiClient(CustomObjectsApi);
    type Widget = { metadata: { name: string; namespace?: string } };
    const informer = new Informer<Widget>(kc, {
      kind: 'Widget',
      namespaces: 'all',
      listPage: async (_ns, { limit, continue: token }) =>
        await api.listClusterCustomObject({
          group,
          version: 'v1',
          plural,
          limit,
          ...(token === undefined ? {} : { _continue: token }),
        }),
      watchPath: () => `/apis/${group}/v1/${plural}`,
      keep: (o) => o,
      onEvent: () => undefined,
      log: quiet,
      absentIsEmpty: true,
      initialBackoffMs: 200,
      maxBackoffMs: 500,
    });
    stops.push(() => informer.stop());
    // The LIST answers 404 (no such resource): start() still resolves, with nothing cached.
    await informer.start();
    expect(informer.synced()).toBe(true);
    expect(informer.keys()).toEqual([]);
    await applyYaml({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.${group}` },
      spec: {
        group,
        scope: 'Cluster',
        names: { plural, singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
    await kubectl(['wait', '--for=condition=Established', `crd/${plural}.${group}`, '--timeout=30s']);
    await eventually(
      async () => {
        await applyYaml({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' } });
        expect(informer.keys()).toEqual(['/w1']);
      },
      { timeoutMs: 20_000 },
    );
    await kubectl(['delete', 'crd', `${plural}.${group}`, '--wait=false']);
  });
});
