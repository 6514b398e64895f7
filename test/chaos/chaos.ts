// The chaos suite of issue #8: two operator replicas with leader election on their own real control plane, the ECS
// emulator failing a share of calls, a trickle of spec edits, and at chosen moments a SIGKILL of the leader, a
// SIGTERM of the leader, a kube-apiserver restart (same etcd), a watch expiry (etcd compacted to its current
// revision while kube-apiserver restarts, so every watch resumes from a resourceVersion that is gone: a real 410 from
// the real apiserver, and the informers must relist), and a wall-clock step of +60 s on the standby while the leader
// stalls for 2.6 s (the lease is timed on the monotonic clock, so the standby must not take the live lease). A small
// supervisor plays the Deployment: whenever a replica exits, a new one (new pod name, new access key of the same
// owner) starts. Every object has deletionPolicy Revoke; at the end, after convergence, a few objects using a Secret
// in the same namespace join them and the whole namespace is deleted (Secrets first): it must disappear, leaving no
// account shared.
//
// What it measures:
// - takeovers and takeover time: from a disruption to the next "became leader" log line of another process;
// - overlaps: every process instance signs with its own access key, and instances never come back (a restart is a
//   new instance), so a successful write by instance X after a later instance Y already wrote means two writers;
// - violations: a successful grant of an account that was not in the object's spec during the preceding
//   GRANT_TOLERANCE_MS (read → write latency of one correct pass), and accounts in the cloud at a sample that were
//   not in the spec during the preceding STALE_SHARE_TOLERANCE_MS (maxStaleShareMs: the longest such lag seen);
// - converged: after faults and edits stop, objects whose cloud list equals the spec and whose Ready is Synced;
// - watch expiries: the operators' "watch expired (410 Gone); relisting" log lines after each disruption;
// - namespace deletion: how long deleting the namespace took, and the accounts still shared afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { CREDENTIALS_IN_USE_FINALIZER } from '../../src/kube/secret-finalizer.ts';
import { type ControlPlane, compactEtcd, restartApiServer, startControlPlane } from '../harness/control-plane.ts';
import { KubeCli } from '../harness/kube-cli.ts';
import type { ManagedProcess } from '../harness/managed-process.ts';
import { deleteNamespaceLikeController } from '../harness/namespace-deletion.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import { accounts, OWNER, operatorWorld, REGION, SECRET_KEY } from '../integration/operator-world.ts';

export const Disruption = {
  SigKill: 'sigkill',
  SigTerm: 'sigterm',
  ApiServerRestart: 'apiserver-restart',
  WatchExpiry: 'watch-expiry',
  ClockStep: 'clock-step',
} as const;
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
  /** Objects with credentials.secretRef added for the final namespace deletion. Default 3. */
  secretRefObjects?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  /** The longest a sampled share outlived the account's last moment in the spec (0 when always in it). */
  maxStaleShareMs: number;
  takeovers: number;
  maxTakeoverMs: number;
  overlaps: number;
  converged: number;
  objects: number;
  violations: string[];
  disruptions: DisruptionRecord[];
  /** 410 Gone watch expiries the operators logged, over the whole run. */
  watchExpiries: number;
  grants: number;
  processes: number;
  namespaceDeletion: NamespaceDeletionFigures;
}

export interface DisruptionRecord {
  kind: Disruption;
  atMs: number;
  /** The process disrupted: the leader, or for a clock step the standby. */
  target: string;
  takeoverMs: number | undefined;
  /** 410 Gone expiries logged by any operator between this disruption and the next. */
  watchExpiries: number;
  /** Clock step only: the target logged the step (the signal reached the preload). */
  stepped?: boolean;
  /** When the disruption's action finished (a restarted apiserver serving again), ms after the start. */
  endMs?: number;
  /** Successful share writes after endMs and before the next disruption: the operators work again. */
  writesAfter?: number;
}

export interface NamespaceDeletionFigures {
  /** Time from `kubectl delete namespace` until the namespace was gone; undefined when it never went. */
  ms: number | undefined;
  /** ImageShares (all deletionPolicy Revoke) deleted with it, of which `secretRefObjects` used its Secret. */
  objects: number;
  secretRefObjects: number;
  /** Accounts still shared on any of those objects' images afterwards (must be 0). */
  accountsLeft: number;
  /** Objects still in the namespace when deletion gave up (empty when it finished). */
  remaining: string[];
}

const NS = 'chaos';
/** The Lease lives apart from the objects, as the chart's release namespace does, so deleting NS leaves it alone. */
const LEASE_NS = 'chaos-system';
const GROUP = { group: 'ecs.alicloud.dev', version: 'v1alpha1', namespace: NS, plural: 'imageshares' };
const CLOCK_STEP_MS = 60_000;
/**
 * The leader stalls this long before and again after the step: each is longer than a standby's jittered retry
 * (500 ms + up to 600 ms), so the standby reads the frozen Lease record once before the step and once after it. The
 * 2.6 s in all stay well under the 5 s renew deadline and the 6 s lease, so a correct standby waits and the leader
 * renews when it resumes.
 */
const LEADER_STALL_MS = 1_300;
const EXPIRED_MSG = 'ImageShare watch expired (410 Gone); relisting';
const STEPPED_MSG = 'test: wall clock stepped';
const GRANT_TOLERANCE_MS = 3_000;
/**
 * How long a share may outlive the account's removal from the spec and still pass a sample: a takeover (6 s lease),
 * an apiserver restart with the informers' 5 s reconnect backoff, and a few passes retried under the 20 % faults.
 */
const STALE_SHARE_TOLERANCE_MS = 40_000;
/**
 * After a disruption ends, the next waits at least this long, so the effects of one (a takeover, the informers'
 * reconnect and 410 relist after an apiserver restart: up to 5 s of backoff) are measured before the next begins.
 */
const MIN_GAP_MS = 10_000;
const FAST_ELECTION = [
  '--leader-election-lease-duration',
  '6s',
  '--leader-election-renew-deadline',
  '5s',
  '--leader-election-retry-period',
  '500ms',
];
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

  /** How long before `t` the account last left the spec: 0 if in it at `t`, Infinity if never in it. */
  staleFor(imageId: string, account: string, t: number): number {
    const list = (this.#intervals.get(imageId)?.get(account) ?? []).filter((i) => i.from <= t);
    if (list.some((i) => i.to === undefined || i.to >= t)) return 0;
    return list.length === 0 ? Number.POSITIVE_INFINITY : t - Math.max(...list.map((i) => i.to ?? t));
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
    const report = await run.report();
    return { ...report, namespaceDeletion: await run.deleteNamespace() };
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
  readonly #refImages: string[];
  readonly #keys: Array<{ accessKeyId: string; accessKeySecret: string }>;
  readonly #replicas: Replica[] = [];
  readonly #history = new SpecHistory();
  readonly #violations: string[] = [];
  readonly #stale = { maxMs: 0 };
  readonly #disruptions: DisruptionRecord[] = [];
  #cp: ControlPlane | undefined;
  #emu: Emulator | undefined;
  #objects: CustomObjectsApi | undefined;
  #leases: CoordinationV1Api | undefined;
  #kubectl: KubeCli | undefined;
  #relaunched: ManagedProcess[] = [];
  #nextKey = 0;
  #stopping = false;
  #started = 0;

  constructor(options: ChaosOptions, seed: number) {
    this.#options = options;
    this.#random = prng(seed);
    this.#images = Array.from({ length: options.objects }, (_, i) => `m-chaos${String(i).padStart(6, '0')}`);
    this.#refImages = Array.from(
      { length: options.secretRefObjects ?? 3 },
      (_, i) => `m-chaosref${String(i).padStart(3, '0')}`,
    );
    this.#keys = Array.from({ length: 40 }, (_, i) => ({
      accessKeyId: `LTAItestchaos${String(i).padStart(4, '0')}`,
      accessKeySecret: `chaos-secret-${i}`,
    }));
  }

  log(line: string): void {
    const at = `${new Date().toISOString().slice(11, 23)} ${((Date.now() - this.#t0) / 1000).toFixed(1).padStart(6)}s`;
    this.#options.log?.(`${at} ${line}`);
  }

  /** A control plane with the CRD, the emulator, two replicas and every object at its first spec. */
  async setUp(): Promise<void> {
    const world = operatorWorld([...this.#images, ...this.#refImages]);
    world.owners?.find((o) => o.id === OWNER)?.keys?.push(...this.#keys);
    const cp = await startControlPlane();
    this.#cp = cp;
    this.#emu = await startEmulator({ seed: world });
    const kubectl = new KubeCli(
      join(cp.binDir, 'kubectl'),
      cp.kubeconfigPath,
      mkdtempSync(join(tmpdir(), 'imageshare-chaos-kube-')),
    );
    this.#kubectl = kubectl;
    await kubectl.run([
      'apply',
      '--server-side',
      '-f',
      new URL('../../crds/imageshare.yaml', import.meta.url).pathname,
    ]);
    await kubectl.run(['wait', '--for', 'condition=established', 'crd/imageshares.ecs.alicloud.dev', '--timeout=60s']);
    await kubectl.run(['create', 'namespace', NS]);
    await kubectl.run(['create', 'namespace', LEASE_NS]);
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
    const schedule = disruptions.map((kind, i) => ({
      kind,
      at: this.#started + ((i + 1) * durationMs) / (disruptions.length + 1),
    }));
    let quietUntil = 0;
    // Runs past durationMs while disruptions are due or the last one's quiet gap is open, so each disruption is
    // followed by MIN_GAP_MS of edits (the operators' writes after it are what the report measures).
    while (Date.now() - this.#started < durationMs || schedule.length > 0 || Date.now() < quietUntil) {
      if ((schedule[0]?.at ?? Number.POSITIVE_INFINITY) <= Date.now() && quietUntil <= Date.now()) {
        await this.#disrupt(schedule.shift()?.kind ?? Disruption.SigKill);
        quietUntil = Date.now() + MIN_GAP_MS;
      }
      const imageId = this.#images[Math.floor(this.#random() * this.#images.length)] ?? '';
      await this.#edit(imageId).catch((err: unknown) =>
        this.log(`edit failed (apiserver down?): ${String(err).split('\n')[0]}`),
      );
      await sampleCloud(emu, this.#images, this.#history, this.#violations, this.#stale);
      await sleep(500);
    }
    await emu.admin.clearFaults();
    this.log('chaos over; waiting for convergence');
  }

  async report(): Promise<Omit<ChaosReport, 'namespaceDeletion'>> {
    const emu = this.#need(this.#emu);
    const converged = await waitConverged(
      emu,
      this.#need(this.#objects),
      this.#images,
      this.#options.convergeTimeoutMs ?? 90_000,
    );
    const calls = (await emu.admin.calls()).calls;
    const violations = [...this.#violations, ...grantViolations(calls, this.#history)];
    const logs = this.#replicas.map((r) => ({ pod: r.pod, lines: realTimeLogs(r.op) }));
    measureDisruptions(this.#disruptions, logs, this.#started);
    for (const [i, d] of this.#disruptions.entries()) {
      const from = this.#started + (d.endMs ?? d.atMs);
      const until = this.#started + (this.#disruptions[i + 1]?.atMs ?? Number.POSITIVE_INFINITY);
      d.writesAfter = calls.filter(
        (c) =>
          c.action === 'ModifyImageSharePermission' &&
          c.code === 'OK' &&
          Date.parse(c.at) > from &&
          Date.parse(c.at) < until,
      ).length;
    }
    const takeoverTimes = this.#disruptions.map((d) => d.takeoverMs).filter((t): t is number => t !== undefined);
    const keys = new Set(this.#replicas.map((r) => r.accessKeyId));
    return {
      maxStaleShareMs: this.#stale.maxMs,
      takeovers: takeoverTimes.length,
      maxTakeoverMs: takeoverTimes.length === 0 ? 0 : Math.max(...takeoverTimes),
      overlaps: countOverlaps(calls.filter((c) => keys.has(c.accessKeyId ?? ''))),
      converged,
      objects: this.#images.length,
      violations,
      disruptions: this.#disruptions,
      watchExpiries: logs.flatMap((l) => l.lines).filter((l) => l.msg === EXPIRED_MSG).length,
      grants: calls.filter((c) => c.action === 'ModifyImageSharePermission' && c.code === 'OK').length,
      processes: this.#replicas.length,
    };
  }

  /**
   * The end of the story: objects using a Secret of the namespace join the (Revoke) chaos objects, then the
   * namespace goes in one `kubectl delete namespace` (the namespace controller's part played by
   * deleteNamespaceLikeController, Secrets first). Measures how long that took and what stayed shared.
   */
  async deleteNamespace(): Promise<NamespaceDeletionFigures> {
    const kubectl = this.#need(this.#kubectl);
    const emu = this.#need(this.#emu);
    const run = kubectl.run.bind(kubectl);
    await run([
      'create',
      'secret',
      'generic',
      'owner',
      '-n',
      NS,
      `--from-literal=accessKeyId=${SECRET_KEY.accessKeyId}`,
      `--from-literal=accessKeySecret=${SECRET_KEY.accessKeySecret}`,
    ]);
    for (const [i, imageId] of this.#refImages.entries())
      await this.#createSecretRefObject(imageId, accounts(41 + 3 * i, 3));
    const ready = await waitConverged(emu, this.#need(this.#objects), this.#refImages, 60_000);
    // The credentials-in-use finalizer follows the cleanup finalizer shortly (its own small controller).
    const protectedSecret = await waitFor(
      async () =>
        (
          await kubectl.getJson<{ metadata: { finalizers?: string[] } }>('secret', NS, 'owner')
        ).metadata.finalizers?.includes(CREDENTIALS_IN_USE_FINALIZER) === true,
      30_000,
    );
    const all = [...this.#images, ...this.#refImages];
    const sharedBefore = await sharedCount(emu, all);
    this.log(
      `deleting namespace ${NS}: ${all.length} Revoke objects (${ready}/${this.#refImages.length} secretRef ones synced, Secret protected: ${protectedSecret}), ${sharedBefore} accounts shared`,
    );
    const begin = Date.now();
    const result = await deleteNamespaceLikeController(run, NS, { timeoutMs: 90_000 });
    const ms = result.gone ? Date.now() - begin : undefined;
    const accountsLeft = await sharedCount(emu, all);
    this.log(
      `namespace ${result.gone ? `gone in ${ms} ms` : `not gone; left: ${result.remaining.join(' ')}`}; ${accountsLeft} accounts still shared`,
    );
    return {
      ms,
      objects: all.length,
      secretRefObjects: this.#refImages.length,
      accountsLeft,
      remaining: result.remaining,
    };
  }

  async tearDown(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#replicas.map((r) => r.op.stop(10_000)));
    for (const p of this.#relaunched) await p.stop();
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
    const election = ['--leader-elect', '--leader-election-namespace', LEASE_NS, '--pod-name', pod, ...FAST_ELECTION];
    const op = await startOperator({
      kubeconfig: cp.kubeconfigPath,
      ecsEndpoint: emu.endpoint,
      ...key,
      namespaces: [NS],
      extraArgs: [...election, '--graceful-shutdown-timeout', '5s', '--secret-namespaces', NS],
      // Every replica can have its wall clock stepped; only the clock-step disruption does it, to the standby.
      clockStepMs: CLOCK_STEP_MS,
    });
    const replica: Replica = { op, pod, accessKeyId: key.accessKeyId, startedAt: Date.now(), gone: false };
    this.#replicas.push(replica);
    this.log(`started ${pod} (${key.accessKeyId}, log ${op.logPath})`);
    void op.exited.then(async (code) => {
      replica.gone = true;
      this.log(`${pod} exited with ${code}`);
      await this.#respawn();
    });
  }

  /** Like a Deployment (CrashLoopBackOff): tries again while a new replica fails to start (the apiserver is down). */
  async #respawn(): Promise<void> {
    for (let delayMs = 1000; !this.#stopping; delayMs = Math.min(delayMs * 2, 8000)) {
      await sleep(delayMs);
      if (this.#stopping) return;
      try {
        await this.#spawnReplica();
        return;
      } catch (err: unknown) {
        this.log(`respawn failed, retrying: ${String(err).split('\n')[0]}`);
      }
    }
  }

  /** A new random spec for `imageId`, recorded with conservative times (see SpecHistory). */
  async #edit(imageId: string): Promise<void> {
    const objects = this.#need(this.#objects);
    const wanted = pick(this.#random, 1 + Math.floor(this.#random() * 6));
    const name = imageId.replace('m-', 'share-');
    const spec = { regionId: REGION, imageId, accounts: wanted, deletionPolicy: 'Revoke' };
    const body = {
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name, namespace: NS },
      spec,
    };
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
      const stored = (await objects.getNamespacedCustomObject({ ...GROUP, name }).catch(() => undefined)) as
        | { spec?: { accounts?: string[] } }
        | undefined;
      this.#history.set(imageId, stored?.spec?.accounts ?? previous, Date.now());
      throw err;
    }
    this.#history.set(imageId, wanted, Date.now());
    this.log(`edit ${imageId} → ${wanted.map((a) => a.slice(-2)).join(',')}`);
  }

  async #createSecretRefObject(imageId: string, wanted: string[]): Promise<void> {
    const name = imageId.replace('m-', 'share-');
    const spec = {
      regionId: REGION,
      imageId,
      accounts: wanted,
      deletionPolicy: 'Revoke',
      credentials: { secretRef: { name: 'owner' } },
    };
    const body = {
      apiVersion: 'ecs.alicloud.dev/v1alpha1',
      kind: 'ImageShare',
      metadata: { name, namespace: NS },
      spec,
    };
    await this.#need(this.#objects).patchNamespacedCustomObject(
      { ...GROUP, name, body, fieldManager: 'chaos', force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  /** Disrupts the live leader, or for a clock step the live standby (waiting up to 10 s for one to exist). */
  async #disrupt(kind: Disruption): Promise<void> {
    const leader = await this.#waitFor(async () => {
      const pod = await this.#leaderPod();
      return this.#replicas.find((r) => r.pod === pod && !r.gone);
    });
    // A standby that has seen the leader: the one whose lease expiry a wall-clock step would move.
    const standby =
      kind !== Disruption.ClockStep
        ? undefined
        : await this.#waitFor(async () =>
            this.#replicas.find(
              (r) => r !== leader && !r.gone && r.op.logs().some((l) => l.msg === 'new leader observed'),
            ),
          );
    const target = (kind === Disruption.ClockStep ? standby : leader)?.pod ?? 'none';
    this.#disruptions.push({ kind, atMs: Date.now() - this.#started, target, takeoverMs: undefined, watchExpiries: 0 });
    this.log(
      `${kind} (${kind === Disruption.ClockStep ? 'standby' : 'leader'} ${target}; leader ${leader?.pod ?? 'none'})`,
    );
    const cp = this.#need(this.#cp);
    if (kind === Disruption.SigKill) await leader?.op.kill();
    if (kind === Disruption.SigTerm) void leader?.op.stop(10_000);
    if (kind === Disruption.ClockStep && standby !== undefined)
      await stepClockWhileLeaderStalls(standby.op, leader?.op);
    if (kind === Disruption.ApiServerRestart) this.#relaunched.push(await restartApiServer(cp));
    if (kind === Disruption.WatchExpiry) {
      // Compacted while kube-apiserver is down: its new watch cache and etcd both lack every earlier revision.
      const compact = async () => this.log(`etcd compacted to revision ${await compactEtcd(cp.etcdUrl)}`);
      this.#relaunched.push(await restartApiServer(cp, compact));
    }
    const record = this.#disruptions.at(-1);
    if (record !== undefined) record.endMs = Date.now() - this.#started;
  }

  async #waitFor<T>(probe: () => Promise<T | undefined>): Promise<T | undefined> {
    for (let i = 0; i < 20; i++) {
      const found = await probe();
      if (found !== undefined) return found;
      await sleep(500);
    }
    return undefined;
  }

  async #leaderPod(): Promise<string> {
    const lease = await this.#need(this.#leases)
      .readNamespacedLease({ name: 'imageshare-operator', namespace: LEASE_NS })
      .catch(() => undefined);
    return lease?.spec?.holderIdentity ?? '';
  }

  #need<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('chaos run used before setUp()');
    return v;
  }
}

/**
 * Steps the standby's wall clock by CLOCK_STEP_MS in the middle of a leader stall (SIGSTOP: a GC pause or a starved
 * CPU) well inside its lease: the standby then reads the same Lease record before and after the step, the moment
 * when a lease expiry measured on the wall clock would let it take a live lease. (While the leader renews, every
 * read shows a new record and re-bases the expiry, whatever the clock.)
 */
async function stepClockWhileLeaderStalls(
  standby: OperatorProcess,
  leader: OperatorProcess | undefined,
): Promise<void> {
  const pid = leader?.pid;
  if (pid !== undefined) process.kill(pid, 'SIGSTOP');
  try {
    await sleep(LEADER_STALL_MS);
    standby.stepClock();
    await sleep(LEADER_STALL_MS);
  } finally {
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
  }
}

/** Polls `check` every 500 ms until it holds or `timeoutMs` passes; errors count as "not yet". */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(500);
  }
  return false;
}

async function sharedCount(emu: Emulator, images: readonly string[]): Promise<number> {
  let n = 0;
  for (const imageId of images) n += (await emu.admin.image(REGION, imageId)).sharedWith.length;
  return n;
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
        out.push(
          `${c.at} ${c.accessKeyId} granted ${String(v)} on ${c.imageId}, not in its spec since ${history.describe(c.imageId, String(v))}`,
        );
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

async function sampleCloud(
  emu: Emulator,
  images: readonly string[],
  history: SpecHistory,
  violations: string[],
  stale: { maxMs: number },
): Promise<void> {
  const t = Date.now();
  for (const imageId of images) {
    const shared = (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id);
    for (const a of shared) {
      stale.maxMs = Math.max(stale.maxMs, history.staleFor(imageId, a, t));
      if (!history.allowedNear(imageId, a, t, STALE_SHARE_TOLERANCE_MS))
        violations.push(
          `sample ${new Date(t).toISOString()}: ${imageId} shared with ${a}, not in its spec for ${STALE_SHARE_TOLERANCE_MS} ms (allowed ${history.describe(imageId, a)})`,
        );
    }
  }
}

async function waitConverged(
  emu: Emulator,
  objects: CustomObjectsApi,
  images: readonly string[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let converged = 0;
  while (Date.now() < deadline) {
    converged = 0;
    for (const imageId of images) {
      const shared = (await emu.admin.image(REGION, imageId)).sharedWith.map((s) => s.id).sort();
      const obj = (await objects
        .getNamespacedCustomObject({ ...GROUP, name: imageId.replace('m-', 'share-') })
        .catch(() => undefined)) as
        | { spec?: { accounts?: string[] }; status?: { conditions?: Array<{ type: string; reason: string }> } }
        | undefined;
      const ready = obj?.status?.conditions?.find((c) => c.type === 'Ready');
      const wanted = [...(obj?.spec?.accounts ?? [])].sort();
      if (obj !== undefined && JSON.stringify(shared) === JSON.stringify(wanted) && ready?.reason === 'Synced')
        converged++;
    }
    if (converged === images.length) return converged;
    await sleep(2000);
  }
  return converged;
}

interface LogLine {
  msg: unknown;
  at: number;
}

/**
 * A replica's log lines with real times: after a clock step the process stamps its lines `offsetMs` ahead, so those
 * are moved back by the offset its "wall clock stepped" line announced.
 */
function realTimeLogs(op: OperatorProcess): LogLine[] {
  let offset = 0;
  return op.logs().map((l) => {
    if (l.msg === STEPPED_MSG) {
      offset = Number(l.offsetMs);
      return { msg: l.msg, at: Number(l.time) };
    }
    return { msg: l.msg, at: Number(l.time) - offset };
  });
}

/**
 * Per disruption, until the next one: the takeover time (until a process other than the disrupted one logged
 * "became leader"; an apiserver blip or a clock step may need none), the 410 Gone expiries logged by any process,
 * and for a clock step whether the standby logged the step.
 */
function measureDisruptions(
  disruptions: DisruptionRecord[],
  logs: ReadonlyArray<{ pod: string; lines: LogLine[] }>,
  started: number,
): void {
  const all = logs.flatMap((l) => l.lines.map((line) => ({ pod: l.pod, ...line }))).sort((a, b) => a.at - b.at);
  const becameLeader = all.filter((l) => l.msg === 'became leader');
  for (const [i, d] of disruptions.entries()) {
    const at = started + d.atMs;
    const until = started + (disruptions[i + 1]?.atMs ?? Number.POSITIVE_INFINITY);
    const inWindow = (l: { at: number }) => l.at > at && l.at < until;
    const next = becameLeader.find(inWindow);
    if (next !== undefined) d.takeoverMs = next.at - at;
    // A 410 may surface after the next disruption began: the apiserver was down long enough for leadership to move,
    // and a standby re-watches only after its backoff. Any 410 after the compaction counts for it.
    const expiryWindow = d.kind === Disruption.WatchExpiry ? (l: { at: number }) => l.at > at : inWindow;
    d.watchExpiries = all.filter((l) => l.msg === EXPIRED_MSG && expiryWindow(l)).length;
    if (d.kind === Disruption.ClockStep)
      d.stepped = all.some((l) => l.pod === d.target && l.msg === STEPPED_MSG && l.at >= at);
  }
}
