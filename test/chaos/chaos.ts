// The chaos suite of issue #8: two operator replicas with leader election on their own real control plane, the ECS
// emulator failing a share of calls, a trickle of spec edits, and at chosen moments a SIGKILL of the leader, a
// SIGTERM of the leader, and a kube-apiserver restart (same etcd). A small supervisor plays the Deployment: whenever
// a replica exits, a new one (new pod name, new access key of the same owner) starts.
//
// What it measures:
// - takeovers and takeover time: from a disruption to the next "became leader" log line of another process;
// - overlaps: every process instance signs with its own access key, and instances never come back (a restart is a
//   new instance), so a successful write by instance X after a later instance Y already wrote means two writers;
// - violations: a successful grant of an account that was not in the object's spec during the preceding
//   GRANT_TOLERANCE_MS (read → write latency of one correct pass), and accounts in the cloud at a sample that were
//   never in the spec;
// - converged: after faults and edits stop, objects whose cloud list equals the spec and whose Ready is Synced.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
import { runTool } from '../harness/helm.ts';
import { ManagedProcess } from '../harness/managed-process.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { accounts, OWNER, operatorWorld, REGION } from '../integration/operator-world.ts';

export const Disruption = { SigKill: 'sigkill', SigTerm: 'sigterm', ApiServerRestart: 'apiserver-restart' } as const;
export type Disruption = (typeof Disruption)[keyof typeof Disruption];

export interface ChaosOptions {
  objects: number;
  /** How long faults, edits and disruptions run. */
  durationMs: number;
  /** Share of ECS calls that fail (transient 503). */
  faultRate: number;
  /** Disruptions, spread evenly over the duration. */
  disruptions: readonly Disruption[];
  /** Time allowed to converge after the chaos stops. */
  convergeTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  takeovers: number;
  maxTakeoverMs: number;
  overlaps: number;
  converged: number;
  objects: number;
  violations: string[];
  disruptions: Array<{ kind: Disruption; atMs: number; takeoverMs: number | undefined }>;
  grants: number;
  processes: number;
}

const NS = 'chaos';
const GROUP = { group: 'ecs.alicloud.dev', version: 'v1alpha1', namespace: NS, plural: 'imageshares' };
const GRANT_TOLERANCE_MS = 3_000;
const FAST_ELECTION = ['--leader-election-lease-duration', '4s', '--leader-election-renew-deadline', '3s', '--leader-election-retry-period', '500ms'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When each account was allowed for each image: [from, to) intervals, `to` undefined while still allowed. */
export class SpecHistory {
  readonly #intervals = new Map<string, Map<string, Array<{ from: number; to: number | undefined }>>>();
  readonly #current = new Map<string, Set<string>>();

  set(imageId: string, wanted: readonly string[], at: number): void {
    const cur = this.#current.get(imageId) ?? new Set<string>();
    const byAccount = this.#intervals.get(imageId) ?? new Map();
    this.#intervals.set(imageId, byAccount);
    for (const a of wanted) {
      if (cur.has(a)) continue;
      const list = byAccount.get(a) ?? [];
      list.push({ from: at, to: undefined });
      byAccount.set(a, list);
    }
    for (const a of cur) {
      if (wanted.includes(a)) continue;
      const open = byAccount.get(a)?.find((i: { to: number | undefined }) => i.to === undefined);
      if (open) open.to = at;
    }
    this.#current.set(imageId, new Set(wanted));
  }

  current(imageId: string): string[] {
    return [...(this.#current.get(imageId) ?? [])].sort();
  }

  /** True if `account` was in the spec at some moment of [t - windowMs, t]. */
  allowedNear(imageId: string, account: string, t: number, windowMs: number): boolean {
    const list = this.#intervals.get(imageId)?.get(account) ?? [];
    return list.some((i) => i.from <= t && (i.to === undefined || i.to >= t - windowMs));
  }

  /** The account's allowed intervals, for violation messages. */
  describe(imageId: string, account: string): string {
    const list = this.#intervals.get(imageId)?.get(account) ?? [];
    const iso = (t: number | undefined) => (t === undefined ? 'now' : new Date(t).toISOString().slice(11, 23));
    return list.length === 0 ? 'never' : list.map((i) => `[${iso(i.from)}, ${iso(i.to)}]`).join(' ');
  }

  everAllowedBefore(imageId: string, account: string, t: number): boolean {
    return (this.#intervals.get(imageId)?.get(account) ?? []).some((i) => i.from <= t);
  }
}

/** A deterministic-enough PRNG so a run can be repeated with the same seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function pick(random: () => number, n: number): string[] {
  const pool = accounts(1, 40);
  const out = new Set<string>();
  while (out.size < n) out.add(pool[Math.floor(random() * pool.length)] ?? pool[0] ?? '');
  return [...out].sort();
}

interface Replica {
  op: OperatorProcess;
  pod: string;
  accessKeyId: string;
  startedAt: number;
  gone: boolean;
}

/** Runs one chaos scenario end to end and returns its figures. Cleans up everything it started. */
export async function runChaos(options: ChaosOptions, seed = 1): Promise<ChaosReport> {
  const run = new ChaosRun(options, seed);
  try {
    await run.setUp();
    await run.disturb();
    return await run.report();
  } finally {
    await run.tearDown();
  }
}

/** One scenario's state: the control plane, the emulator, the replicas and what the driver asked for. */
class ChaosRun {
  readonly #options: ChaosOptions;
  readonly #random: () => number;
  readonly #t0 = Date.now();
  readonly #images: string[];
  readonly #keys: Array<{ accessKeyId: string; accessKeySecret: string }>;
  readonly #replicas: Replica[] = [];
  readonly #history = new SpecHistory();
  readonly #violations: string[] = [];
  readonly #disruptions: ChaosReport['disruptions'] = [];
  #cp: ControlPlane | undefined;
  #emu: Emulator | undefined;
  #objects: CustomObjectsApi | undefined;
  #leases: CoordinationV1Api | undefined;
  #relaunched: ManagedProcess | undefined;
  #nextKey = 0;
  #stopping = false;
  #started = 0;

  constructor(options: ChaosOptions, seed: number) {
    this.#options = options;
    this.#random = prng(seed);
    this.#images = Array.from({ length: options.objects }, (_, i) => `m-chaos${String(i).padStart(6, '0')}`);
    this.#keys = Array.from({ length: 40 }, (_, i) => ({ accessKeyId: `LTAItestchaos${String(i).padStart(4, '0')}`, accessKeySecret: `chaos-secret-${i}` }));
  }

  log(line: string): void {
    const at = `${new Date().toISOString().slice(11, 23)} ${((Date.now() - this.#t0) / 1000).toFixed(1).padStart(6)}s`;
    this.#options.log?.(`${at} ${line}`);
  }

  /** A control plane with the CRD, the emulator, two replicas and every object at its first spec. */
  async setUp(): Promise<void> {
    const world = operatorWorld(this.#images);
    world.owners?.find((o) => o.id === OWNER)?.keys?.push(...this.#keys);
    const cp = await startControlPlane();
    this.#cp = cp;
    this.#emu = await startEmulator({ seed: world });
    const kubectl = (args: string[]) => runTool(join(cp.binDir, 'kubectl'), ['--kubeconfig', cp.kubeconfigPath, ...args]);
    await kubectl(['apply', '--server-side', '-f', new URL('../../crds/imageshare.yaml', import.meta.url).pathname]);
    await kubectl(['wait', '--for', 'condition=established', 'crd/imageshares.ecs.alicloud.dev', '--timeout=60s']);
    await kubectl(['create', 'namespace', NS]);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    this.#objects = kc.makeApiClient(CustomObjectsApi);
    this.#leases = kc.makeApiClient(CoordinationV1Api);
    await this.#spawnReplica();
    await this.#spawnReplica();
    for (const imageId of this.#images) await this.#edit(imageId);
  }

  /** Faults, edits, samples and the scheduled disruptions, for the configured duration. */
  async disturb(): Promise<void> {
    const emu = this.#need(this.#emu);
    await emu.admin.addFault({ type: 'error', code: 'ServiceUnavailable', rate: this.#options.faultRate });
    this.#started = Date.now();
    const { disruptions, durationMs } = this.#options;
    const schedule = disruptions.map((kind, i) => ({ kind, at: this.#started + ((i + 1) * durationMs) / (disruptions.length + 1) }));
    while (Date.now() - this.#started < durationMs) {
      if ((schedule[0]?.at ?? Number.POSITIVE_INFINITY) <= Date.now()) await this.#disrupt(schedule.shift()?.kind ?? Disruption.SigKill);
      const imageId = this.#images[Math.floor(this.#random() * this.#images.length)] ?? '';
      await this.#edit(imageId).catch((err: unknown) => this.log(`edit failed (apiserver down?): ${String(err).split('\n')[0]}`));
      await sampleCloud(emu, this.#images, this.#history, this.#violations);
      await sleep(500);
    }
    await emu.admin.clearFaults();
    this.log('chaos over; waiting for convergence');
  }

  async report(): Promise<ChaosReport> {
    const emu = this.#need(this.#emu);
    const converged = await waitConverged(emu, this.#need(this.#objects), this.#images, this.#options.convergeTimeoutMs ?? 90_000);
    const calls = (await emu.admin.calls()).calls;
    const violations = [...this.#violations, ...grantViolations(calls, this.#history)];
    measureTakeovers(this.#disruptions, this.#replicas, this.#started);
    const takeoverTimes = this.#disruptions.map((d) => d.takeoverMs).filter((t): t is number => t !== undefined);
    return {
      takeovers: takeoverTimes.length,
      maxTakeoverMs: takeoverTimes.length === 0 ? 0 : Math.max(...takeoverTimes),
      overlaps: countOverlaps(calls),
      converged,
      objects: this.#images.length,
      violations,
      disruptions: this.#disruptions,
      grants: calls.filter((c) => c.action === 'ModifyImageSharePermission' && c.code === 'OK').length,
      processes: this.#replicas.length,
    };
  }

  async tearDown(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#replicas.map((r) => r.op.stop(10_000)));
    await this.#relaunched?.stop();
    await this.#emu?.close();
    await this.#cp?.stop();
  }

  /** The Deployment's part: a new replica (new pod name, new key), and another one whenever it exits. */
  async #spawnReplica(): Promise<void> {
    const key = this.#keys[this.#nextKey++ % this.#keys.length];
    const cp = this.#need(this.#cp);
    const emu = this.#need(this.#emu);
    if (key === undefined) return;
    const pod = `replica-${this.#nextKey}-${randomBytes(2).toString('hex')}`;
    const election = ['--leader-elect', '--leader-election-namespace', NS, '--pod-name', pod, ...FAST_ELECTION];
    const op = await startOperator({
      kubeconfig: cp.kubeconfigPath,
      ecsEndpoint: emu.endpoint,
      ...key,
      namespaces: [NS],
      extraArgs: [...election, '--graceful-shutdown-timeout', '5s', '--secret-namespaces='],
    });
    const replica: Replica = { op, pod, accessKeyId: key.accessKeyId, startedAt: Date.now(), gone: false };
    this.#replicas.push(replica);
    this.log(`started ${pod} (${key.accessKeyId}, log ${op.logPath})`);
    void op.exited.then(async (code) => {
      replica.gone = true;
      this.log(`${pod} exited with ${code}`);
      await sleep(1000); // the Deployment's restart delay
      if (!this.#stopping) await this.#spawnReplica().catch((err: unknown) => this.log(`respawn failed: ${String(err)}`));
    });
  }

  /** A new random spec for `imageId`, recorded with conservative times (see SpecHistory). */
  async #edit(imageId: string): Promise<void> {
    const objects = this.#need(this.#objects);
    const wanted = pick(this.#random, 1 + Math.floor(this.#random() * 6));
    const name = imageId.replace('m-', 'share-');
    const body = { apiVersion: 'ecs.alicloud.dev/v1alpha1', kind: 'ImageShare', metadata: { name, namespace: NS }, spec: { regionId: REGION, imageId, accounts: wanted } };
    // Additions count from before the request (the operator may act before it returns), removals from after it.
    const previous = this.#history.current(imageId);
    this.#history.set(imageId, [...new Set([...previous, ...wanted])], Date.now());
    try {
      await objects.patchNamespacedCustomObject(
        { ...GROUP, name, body, fieldManager: 'chaos', force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    } catch (err: unknown) {
      // Unknown outcome (the apiserver may have stored it before the connection broke): read the truth back.
      const stored = (await objects.getNamespacedCustomObject({ ...GROUP, name }).catch(() => undefined)) as { spec?: { accounts?: string[] } } | undefined;
      this.#history.set(imageId, stored?.spec?.accounts ?? previous, Date.now());
      throw err;
    }
    this.#history.set(imageId, wanted, Date.now());
    this.log(`edit ${imageId} → ${wanted.map((a) => a.slice(-2)).join(',')}`);
  }

  /** Disrupts the live leader (waiting up to 10 s for one: after a SIGKILL the standby needs a lease duration). */
  async #disrupt(kind: Disruption): Promise<void> {
    let leader = await this.#leaderPod();
    for (let i = 0; i < 20 && !this.#replicas.some((r) => r.pod === leader && !r.gone); i++) {
      await sleep(500);
      leader = await this.#leaderPod();
    }
    this.#disruptions.push({ kind, atMs: Date.now() - this.#started, takeoverMs: undefined });
    this.log(`${kind} (leader ${leader || 'none'})`);
    this.#relaunched = (await disrupt(kind, this.#need(this.#cp), this.#replicas, leader)) ?? this.#relaunched;
  }

  async #leaderPod(): Promise<string> {
    const lease = await this.#need(this.#leases).readNamespacedLease({ name: 'imageshare-operator', namespace: NS }).catch(() => undefined);
    return lease?.spec?.holderIdentity ?? '';
  }

  #need<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('chaos run used before setUp()');
    return v;
  }
}

/** Carries out one disruption; returns the relaunched kube-apiserver when it restarted it. */
async function disrupt(kind: Disruption, cp: ControlPlane, replicas: readonly Replica[], leader: string): Promise<ManagedProcess | undefined> {
  const running = replicas.find((r) => r.pod === leader && !r.gone);
  if (kind === Disruption.SigKill) await running?.op.kill();
  if (kind === Disruption.SigTerm) void running?.op.stop(10_000);
  if (kind !== Disruption.ApiServerRestart) return undefined;
  const pidFile = join(cp.dir, 'kube-apiserver.pid');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
      await sleep(100);
    } catch {
      break;
    }
  }
  await sleep(1000);
  const [bin = '', ...args] = argv;
  const proc = ManagedProcess.start('kube-apiserver', bin, args, join(cp.dir, 'kube-apiserver.log'));
  // The control plane's watchdog kills whatever the pid file names if this process dies.
  writeFileSync(pidFile, String(proc.pid));
  return proc;
}

type Call = Awaited<ReturnType<Emulator['admin']['calls']>>['calls'][number];

/** Successful grants of accounts that were not in the spec shortly before. */
export function grantViolations(calls: readonly Call[], history: SpecHistory): string[] {
  const out: string[] = [];
  for (const c of calls) {
    if (c.action !== 'ModifyImageSharePermission' || c.code !== 'OK' || c.imageId === null) continue;
    const t = Date.parse(c.at);
    for (const [k, v] of Object.entries(c.params)) {
      if (!k.startsWith('AddAccount.')) continue;
      if (!history.allowedNear(c.imageId, String(v), t, GRANT_TOLERANCE_MS)) {
        out.push(`${c.at} ${c.accessKeyId} granted ${String(v)} on ${c.imageId}, not in its spec since ${history.describe(c.imageId, String(v))}`);
      }
    }
  }
  return out;
}

/** Writes by an instance after a later-started instance already wrote: two writers. */
export function countOverlaps(calls: readonly Call[]): number {
  const writes = calls.filter((c) => c.action === 'ModifyImageSharePermission' && c.code === 'OK');
  const firstWrite = new Map<string, number>();
  let overlaps = 0;
  let latestFirst = -1;
  for (const c of writes) {
    const key = c.accessKeyId ?? '';
    const first = firstWrite.get(key);
    if (first === undefined) {
      firstWrite.set(key, c.seq);
      latestFirst = c.seq;
    } else if (first < latestFirst) {
      overlaps++; // another instance began writing after this one did, and this one still writes
    }
  }
  return overlaps;
}

async function sampleCloud(emu: Emulator, images: readonly string[], history: SpecHistory, violations: string[]): Promise<void> {
  const t = Date.now();
  for (const imageId of images) {
    const shared = (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id);
    for (const a of shared) if (!history.everAllowedBefore(imageId, a, t)) violations.push(`sample ${new Date(t).toISOString()}: ${imageId} shared with ${a}, never in its spec`);
  }
}

async function waitConverged(emu: Emulator, objects: CustomObjectsApi, images: readonly string[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let converged = 0;
  while (Date.now() < deadline) {
    converged = 0;
    for (const imageId of images) {
      const shared = (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id).sort();
      const obj = (await objects.getNamespacedCustomObject({ ...GROUP, name: imageId.replace('m-', 'share-') }).catch(() => undefined)) as
        | { spec?: { accounts?: string[] }; status?: { conditions?: Array<{ type: string; reason: string }> } }
        | undefined;
      const ready = obj?.status?.conditions?.find((c) => c.type === 'Ready');
      const wanted = [...(obj?.spec?.accounts ?? [])].sort();
      if (obj !== undefined && JSON.stringify(shared) === JSON.stringify(wanted) && ready?.reason === 'Synced') converged++;
    }
    if (converged === images.length) return converged;
    await sleep(2000);
  }
  return converged;
}

/** Takeover time of each disruption: until another process logged "became leader". */
function measureTakeovers(disruptions: ChaosReport['disruptions'], replicas: readonly Replica[], started: number): void {
  const becameLeader = replicas
    .flatMap((r) => r.op.logs().filter((l) => l.msg === 'became leader').map((l) => ({ pod: r.pod, at: Number(l.time) })))
    .sort((a, b) => a.at - b.at);
  for (const [i, d] of disruptions.entries()) {
    const at = started + d.atMs;
    const until = started + (disruptions[i + 1]?.atMs ?? Number.POSITIVE_INFINITY);
    // Only a leader change before the next disruption belongs to this one (an apiserver blip may need none).
    const next = becameLeader.find((b) => b.at > at && b.at < until);
    if (next !== undefined) d.takeoverMs = next.at - at;
  }
}
