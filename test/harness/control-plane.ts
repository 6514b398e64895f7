// A real, minimal Kubernetes control plane for integration tests: etcd + kube-apiserver started the way
// controller-runtime's envtest starts them (docs: /work/shared/reference/control-plane.md §3), with client-certificate
// authentication, RBAC, and no controllers (namespaces never finish deleting; nothing is garbage-collected).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runBuildScript } from './build-script.ts';
import { ManagedProcess, startWatchdog } from './managed-process.ts';
import { createSigningKeyPair, type KeyPairFiles, TinyCa } from './tiny-ca.ts';

export interface ControlPlaneOptions {
  /** How long etcd + kube-apiserver may take to become healthy. Default 60 s (slow CI, see the reference). */
  startTimeoutMs?: number;
  /** Extra kube-apiserver flags, appended after the defaults. */
  apiServerFlags?: readonly string[];
  /** Binaries directory; default: whatever test/control-plane/build.sh prints (building them if needed). */
  binDir?: string;
  /** Keep the temp dir (certificates, logs, etcd data) after stop(), for debugging. */
  keepTempDir?: boolean;
}

export interface ControlPlane {
  /** An admin kubeconfig (client certificate CN=admin, O=system:masters). */
  kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** etcd's client URL, `http://127.0.0.1:<port>` (plain HTTP on loopback; its v3 JSON gateway answers there too). */
  etcdUrl: string;
  /** Directory holding etcd, kube-apiserver, kubectl and helm. */
  binDir: string;
  /** Temp dir with certificates, logs and etcd data; removed by stop() unless keepTempDir. */
  dir: string;
  /**
   * Issues a client certificate for `name` (with `groups` as its organizations) and writes a kubeconfig for it.
   * The user has no permissions until RBAC grants some. Returns the kubeconfig path.
   */
  addUser(name: string, groups?: readonly string[]): Promise<string>;
  /** Kills kube-apiserver and etcd and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const BUILD_SCRIPT = fileURLToPath(new URL('../control-plane/build.sh', import.meta.url));
const BINARIES = ['etcd', 'kube-apiserver', 'kubectl', 'helm'] as const;
const POLL_MS = 200;
const SERVING_CA = 'serving-ca';
const CLIENT_CA = 'client-cert-auth-ca';

/**
 * Starts etcd and kube-apiserver on free loopback ports and waits until `/healthz` is ok and the `default`
 * namespace exists. Throws (after cleaning up) when the binaries cannot be built or the control plane does not
 * become healthy within the timeout; the error carries the tail of both logs.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = opts.binDir ?? (await ensureBinaries());
  const dir = await mkdtemp(join(tmpdir(), 'imageshare-cp-'));
  const stopWatchdog = startWatchdog(dir);
  const processes: ManagedProcess[] = [];
  const stop = once(async () => {
    for (const p of [...processes].reverse()) await p.stop();
    stopWatchdog();
    if (opts.keepTempDir !== true) await rm(dir, { recursive: true, force: true });
  });
  try {
    const pki = await createPki(join(dir, 'pki'));
    const [etcdPort, peerPort, apiPort] = await freeLoopbackPorts();
    const server = `https://127.0.0.1:${apiPort}`;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    processes.push(await launch(dir, 'etcd', join(binDir, 'etcd'), etcdArgs(dir, etcdUrl, peerPort)));
    await waitFor('etcd /health', processes, deadline, () => probeEtcd(etcdUrl));

    const apiArgs = [...apiServerArgs(pki, etcdUrl, apiPort), ...(opts.apiServerFlags ?? [])];
    processes.push(await launch(dir, 'kube-apiserver', join(binDir, 'kube-apiserver'), apiArgs));
    const admin = await pki.clientCa.issue({
      fileStem: 'admin',
      commonName: 'admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const tls = { ca: await readFile(pki.servingCa.certPath), ...(await readKeyPair(admin)) };
    await waitFor(
      'kube-apiserver /healthz',
      processes,
      deadline,
      async () => (await httpsGet(`${server}/healthz`, tls)) === 200,
    );
    await waitFor(
      'the default namespace',
      processes,
      deadline,
      async () => (await httpsGet(`${server}/api/v1/namespaces/default`, tls)) === 200,
    );

    const kubeconfigPath = await writeKubeconfig(
      join(dir, 'admin.kubeconfig'),
      server,
      pki.servingCa.certPath,
      admin,
      'admin',
    );
    const addUser = (name: string, groups: readonly string[] = []) => addControlPlaneUser(dir, server, name, groups);
    return { kubeconfigPath, server, etcdUrl, binDir, dir, addUser, stop };
  } catch (err: unknown) {
    await stop();
    throw err;
  }
}

/**
 * `ControlPlane.addUser` for any process that knows the control plane's `dir` and `server` (Jest workers only get
 * those through the state file): issues a client certificate CN=`name`, O=`groups` from the plane's client CA and
 * writes a kubeconfig for it into `dir`. Returns the kubeconfig path; throws when openssl fails.
 */
export async function addControlPlaneUser(
  dir: string,
  server: string,
  name: string,
  groups: readonly string[] = [],
): Promise<string> {
  const pkiDir = join(dir, 'pki');
  const clientCa = TinyCa.open(pkiDir, CLIENT_CA);
  const stem = `user-${name.replace(/[^a-zA-Z0-9-]/g, '_')}-${randomBytes(4).toString('hex')}`;
  const pair = await clientCa.issue({ fileStem: stem, commonName: name, organizations: groups, usage: 'client' });
  return writeKubeconfig(join(dir, `${stem}.kubeconfig`), server, TinyCa.open(pkiDir, SERVING_CA).certPath, pair, name);
}

/**
 * Compacts etcd's whole history up to its current revision (through the v3 JSON gateway), as kube-apiserver's own
 * periodic compaction does every 5 minutes: afterwards no watch can start from an earlier resourceVersion (410
 * Gone). Returns the revision compacted to; throws when etcd does not answer or refuses.
 */
export async function compactEtcd(etcdUrl: string): Promise<number> {
  const post = async (path: string, body: object): Promise<Record<string, unknown>> => {
    const res = await fetch(`${etcdUrl}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`etcd ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const range = (await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') })) as {
    header?: { revision?: string };
  };
  const revision = Number(range.header?.revision);
  if (!Number.isSafeInteger(revision) || revision <= 0)
    throw new Error(`etcd reported no revision: ${JSON.stringify(range)}`);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

/**
 * Restarts kube-apiserver with its original command line over the same etcd: SIGTERM, and SIGKILL if it has not
 * exited after `graceMs` (default 10 s; like a kubelet's grace period: a terminating kube-apiserver keeps open
 * watches open, silent, until it exits), run `whileDown` if given, start it again and point the pid file (and so
 * the watchdog) at the new process. Returns the new process; the caller stops it (ControlPlane.stop() only knows
 * the original one). Does not wait for the new one to become healthy.
 */
export async function restartApiServer(
  cp: Pick<ControlPlane, 'dir'>,
  whileDown?: () => Promise<void>,
  graceMs = 10_000,
): Promise<ManagedProcess> {
  const pidFile = join(cp.dir, 'kube-apiserver.pid');
  const pid = Number(await readFile(pidFile, 'utf8'));
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < graceMs / 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  await whileDown?.();
  const [bin = '', ...args] = argv;
  const proc = ManagedProcess.start('kube-apiserver', bin, args, join(cp.dir, 'kube-apiserver.log'));
  // The control plane's watchdog kills whatever the pid file names if this process dies.
  await writeFile(pidFile, String(proc.pid));
  return proc;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs test/control-plane/build.sh (a no-op when the binaries are cached; a cold build shows its progress on
 * stderr) and returns the directory it prints on its last stdout line. Throws when the build fails or a binary is
 * missing afterwards.
 */
export function ensureBinaries(): Promise<string> {
  return runBuildScript(BUILD_SCRIPT, BINARIES);
}

interface Pki {
  servingCa: TinyCa;
  clientCa: TinyCa;
  serving: KeyPairFiles;
  serviceAccount: { privateKeyPath: string; publicKeyPath: string };
}

async function createPki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const servingCa = await TinyCa.create(dir, SERVING_CA);
  const clientCa = await TinyCa.create(dir, CLIENT_CA);
  const serving = await servingCa.issue({
    fileStem: 'apiserver',
    commonName: '127.0.0.1',
    usage: 'server',
    altNames: ['IP:127.0.0.1', 'DNS:localhost'],
  });
  const serviceAccount = await createSigningKeyPair(dir, 'sa-signer');
  return { servingCa, clientCa, serving, serviceAccount };
}

function etcdArgs(dir: string, clientUrl: string, peerPort: number): string[] {
  return [
    `--data-dir=${join(dir, 'etcd-data')}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync=true',
  ];
}

function apiServerArgs(pki: Pki, etcdUrl: string, port: number): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${pki.servingCa.dir}`,
    `--tls-cert-file=${pki.serving.certPath}`,
    `--tls-private-key-file=${pki.serving.keyPath}`,
    `--secure-port=${port}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=https://127.0.0.1:${port}/`,
    `--service-account-key-file=${pki.serviceAccount.publicKeyPath}`,
    `--service-account-signing-key-file=${pki.serviceAccount.privateKeyPath}`,
    `--client-ca-file=${pki.clientCa.certPath}`,
  ];
}

async function launch(dir: string, name: string, bin: string, args: string[]): Promise<ManagedProcess> {
  const proc = ManagedProcess.start(name, bin, args, join(dir, `${name}.log`));
  await writeFile(join(dir, `${name}.pid`), String(proc.pid));
  return proc;
}

/** Polls `check` until it returns true; throws with every process's log tail on timeout or on an early exit. */
async function waitFor(
  what: string,
  processes: readonly ManagedProcess[],
  deadline: number,
  check: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    const dead = processes.find((p) => !p.running);
    if (dead !== undefined) throw startupError(`${dead.name} exited while waiting for ${what}`, processes);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw startupError(`timed out waiting for ${what}`, processes);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function startupError(summary: string, processes: readonly ManagedProcess[]): Error {
  // The temp dir (and the logs in it) is removed after a failed start, so the message carries the tails itself.
  const tails = processes.map((p) => `--- ${p.name}, last log lines:\n${p.logTail(20)}`).join('\n');
  return new Error(`control plane did not start: ${summary}\n${tails}`);
}

async function probeEtcd(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(`${url}/health`, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

interface ClientTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

async function httpsGet(url: string, tls: ClientTls): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

async function readKeyPair(pair: KeyPairFiles): Promise<{ cert: Buffer; key: Buffer }> {
  return { cert: await readFile(pair.certPath), key: await readFile(pair.keyPath) };
}

async function writeKubeconfig(
  path: string,
  server: string,
  caPath: string,
  pair: KeyPairFiles,
  user: string,
): Promise<string> {
  const b64 = async (file: string) => (await readFile(file)).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'imageshare-test', cluster: { server, 'certificate-authority-data': await b64(caPath) } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': await b64(pair.certPath), 'client-key-data': await b64(pair.keyPath) },
      },
    ],
    contexts: [
      { name: `${user}@imageshare-test`, context: { cluster: 'imageshare-test', user, namespace: 'default' } },
    ],
    'current-context': `${user}@imageshare-test`,
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}

/** Three distinct free loopback ports, found by binding them all at once (so they differ) and releasing them. */
async function freeLoopbackPorts(): Promise<[number, number, number]> {
  const servers = Array.from({ length: 3 }, () => createServer());
  try {
    const ports = await Promise.all(
      servers.map(
        (s) =>
          new Promise<number>((resolve, reject) => {
            s.once('error', reject);
            s.listen(0, '127.0.0.1', () => {
              const address = s.address();
              if (address === null || typeof address === 'string') reject(new Error('no port'));
              else resolve(address.port);
            });
          }),
      ),
    );
    const [a, b, c] = ports;
    if (a === undefined || b === undefined || c === undefined) throw new Error('could not allocate loopback ports');
    return [a, b, c];
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}
