// HTTPS /metrics behind TokenReview + SubjectAccessReview (--metrics-secure, the chart's metrics.secure) on the real
// kube-apiserver: a ServiceAccount token bound to a ClusterRole that may `get` the nonResourceURL /metrics reads them,
// no token is 401, a token the apiserver does not know is 401, and a valid token without the role is 403.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { testState } from '../harness/env.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { TinyCa } from '../harness/tiny-ca.ts';
import { OWNER_KEY, operatorWorld } from './operator-world.ts';

let emu: Emulator;
let op: OperatorProcess;
let ns: string;
let tmp: string;
let ca: Buffer;
const role = `metrics-reader-${randomBytes(3).toString('hex')}`;

/** GET https://127.0.0.1:<port>/metrics, trusting only the test CA. */
function scrape(token?: string): Promise<{ status: number; body: string; authenticate?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: op.metricsPort,
        path: '/metrics',
        ca,
        servername: 'localhost',
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            ...(res.headers['www-authenticate'] ? { authenticate: String(res.headers['www-authenticate']) } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const tokenFor = async (sa: string) => (await kubectl(['create', 'token', sa, '-n', ns])).stdout.trim();

beforeAll(async () => {
  ns = await createNamespace('metrics-auth');
  tmp = await mkdtemp(join(tmpdir(), 'metrics-auth-'));
  const tiny = await TinyCa.create(tmp, 'metrics-ca');
  const leaf = await tiny.issue({
    fileStem: 'tls',
    commonName: 'imageshare-operator-metrics',
    usage: 'server',
    altNames: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  ca = await readFile(tiny.certPath);
  // --metrics-cert-dir reads tls.crt and tls.key, the keys of a kubernetes.io/tls Secret.
  expect([leaf.certPath, leaf.keyPath]).toEqual([join(tmp, 'tls.crt'), join(tmp, 'tls.key')]);
  for (const sa of ['reader', 'nobody'])
    await applyYaml({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } });
  await applyYaml({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: role },
    rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
  });
  await applyYaml({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: role },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
  });
  emu = await startEmulator({ seed: operatorWorld([]) });
  op = await startOperator({
    kubeconfig: testState().kubeconfigPath,
    ecsEndpoint: emu.endpoint,
    ...OWNER_KEY,
    namespaces: [ns],
    extraArgs: ['--metrics-secure', '--metrics-cert-dir', tmp],
  });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await emu?.close();
  await kubectl(['delete', 'clusterrolebinding,clusterrole', role, '--ignore-not-found']);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('HTTPS /metrics with TokenReview and SubjectAccessReview', () => {
  it('a token bound to a role that may get /metrics reads them (200, Prometheus text)', async () => {
    const r = await scrape(await tokenFor('reader'));
    expect(r.status).toBe(200);
    expect(r.body).toContain('# TYPE');
  });

  it('no token: 401 with a Bearer challenge', async () => {
    const r = await scrape();
    expect(r.status).toBe(401);
    expect(r.authenticate).toBe('Bearer');
    expect(r.body).not.toContain('# TYPE');
  });

  it('a token the apiserver does not recognise: 401', async () => {
    expect((await scrape('not-a-real-token')).status).toBe(401);
  });

  it('a valid token without the role: 403', async () => {
    const r = await scrape(await tokenFor('nobody'));
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('# TYPE');
  });

  it('plain HTTP is not served on the metrics port', async () => {
    await expect(fetch(`http://127.0.0.1:${op.metricsPort}/metrics`)).rejects.toThrow();
  });

  it('no token ever reaches the log', async () => {
    const token = await tokenFor('reader');
    await scrape(token);
    expect(op.rawLog()).not.toContain(token);
  });
});
