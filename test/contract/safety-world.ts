// The world the model-based safety test (safety-property.test.ts) drives: one ImageShare in an in-memory store,
// reconciled by the real reconcile pass through the real ECS adapter and SDK against the emulator, by a sequence
// of operator *incarnations*. Each incarnation talks to the emulator through its own little HTTP proxy, so it can
// be killed at any await: a crash point is the k-th side-effect-capable await of a pass (a store call or an HTTP
// request), before or after it took effect; from then on that incarnation's requests and store calls never happen
// (they hang), exactly as if the process had died. User actions (spec edits, foreign label writes, out-of-band
// shares) can be injected at any such await too.
//
// The world keeps the history needed to judge the cloud itself, independent of the operator's own bookkeeping:
// every spec version, which pass (by the spec version it started from) made every write ECS applied (read from the
// emulator's call log), and what the world did out of band.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ImageShare, ImageShareSpec, ImageShareStatus } from '../../src/api/types.ts';
import { createEcsImageSharingFactory } from '../../src/cloud/ecs-factory.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../../src/reconcile/reconcile.ts';
import type { CallRecord, Emulator } from '../emulator/server.ts';
import { FakeStore } from '../support/fake-store.ts';

export const OWNER = '1000000000000001';
export const KEY = { accessKeyId: 'LTAItestProperty001', accessKeySecret: 'test-only-property-secret' };
export const IMAGE = 'm-property0001';
export const REGION = 'cn-hangzhou';
export const KNOWN = Array.from({ length: 60 }, (_, i) => String(2000000000000001 + i));
export const UNKNOWN = '2999999999999999';
export const OTHER_SITE = '3000000000000001';

export type UserAction =
  | { kind: 'edit'; spec: ImageShareSpec }
  | { kind: 'touch' }
  | { kind: 'outOfBand'; add: string[]; remove: string[]; community?: boolean | undefined };

export interface PassPlan {
  /** Index of the await at which this incarnation dies; undefined: it does not. */
  crashAt?: number | undefined;
  /** Die after that await took effect (e.g. ECS applied the write) rather than before. */
  crashAfter: boolean;
  /** A user action performed just before await number `at`. */
  interleave?: { at: number; action: UserAction } | undefined;
}

interface Incarnation {
  deps: ReconcileDeps;
  dead: boolean;
  died: Promise<'dead'>;
  die(): void;
  proxy: Server;
}

interface PassState {
  events: number;
  plan: PassPlan;
  startVersion: number | undefined;
}

/** What ECS applied, in order, with the spec version of the pass that sent it. */
type Applied = { seq: number; version: number; deleting: boolean } & (
  | { kind: 'grant' | 'revoke'; accounts: string[] }
  | { kind: 'community'; value: boolean }
);

const never = <T>() => new Promise<T>(() => undefined);

export class SafetyWorld {
  readonly store = new FakeStore();
  /** Every spec the object has had, oldest first; a pass is judged by the version it started from. */
  readonly specs: ImageShareSpec[] = [];
  /** Accounts shared by someone other than the operator and not revoked by it since. */
  readonly foreign = new Set<string>();
  foreignPublic = false;
  /** Per account: the spec version of the pass whose grant ECS applied last. */
  readonly grantedFrom = new Map<string, number>();
  /** The spec version of the pass whose publish ECS applied last. */
  publishedFrom: number | undefined;
  /** Accounts the operator ever recorded an intent to grant (status.pendingWrites). */
  readonly intended = new Set<string>();
  /** Accounts whose latest change was the operator's own grant (not an out-of-band add or remove since). */
  readonly lastChangeOurGrant = new Set<string>();
  readonly applied: Applied[] = [];
  violations: string[] = [];
  private seenSeq = 0;
  private incarnation: Incarnation | undefined;
  private pass: PassState | undefined;
  private readonly now: () => number;
  private readonly emu: Emulator;

  constructor(emu: Emulator, clock: () => number) {
    this.emu = emu;
    this.now = clock;
  }

  async start(spec: ImageShareSpec, initial: string[], initialCommunity: boolean): Promise<void> {
    for (const id of initial) this.foreign.add(id);
    this.foreignPublic = initialCommunity;
    this.specs.push(spec);
    this.store.create('share', spec);
    this.seenSeq = (await this.emu.admin.calls()).calls.length;
  }

  get emulator(): Emulator {
    return this.emu;
  }

  get spec(): ImageShareSpec {
    return this.specs.at(-1) as ImageShareSpec;
  }

  object(): ImageShare | undefined {
    return this.store.objects.get('default/share');
  }

  /** One reconcile pass by the live incarnation (a new one after a crash); resolves when it ends or dies. */
  async runPass(plan: PassPlan): Promise<ReconcileResult | 'crashed'> {
    const inc = this.incarnation ?? (await this.newIncarnation());
    this.incarnation = inc;
    this.pass = { events: 0, plan, startVersion: undefined };
    const result = await Promise.race([
      reconcile('default', 'share', inc.deps).catch((e: unknown) => ({ error: e })),
      inc.died,
    ]);
    await this.collectCalls();
    this.pass = undefined;
    if (process.env.SAFETY_DEBUG) {
      const st = this.object()?.status;
      const img = await this.emu.admin.image(REGION, IMAGE);
      process.stderr.write(
        `pass ${JSON.stringify(plan)} -> ${result === 'dead' ? 'crashed' : 'done'}; managed=${JSON.stringify(st?.managedAccounts)} pending=${JSON.stringify(st?.pendingWrites?.map((w) => `${w.action}:${w.account ?? ''}@${w.since}`))} ready=${st?.conditions?.[0]?.reason} cloud=${JSON.stringify(img.sharedWith.map((x) => `${x.id}@${x.sharedTime}`))}\n`,
      );
    }
    if (result === 'dead') {
      this.incarnation = undefined;
      inc.proxy.closeAllConnections();
      inc.proxy.close();
      return 'crashed';
    }
    if ('error' in result) throw result.error;
    return result;
  }

  async act(action: UserAction): Promise<void> {
    if (action.kind === 'edit') {
      if (!this.object()) return;
      this.specs.push(action.spec);
      this.store.replaceSpec('share', action.spec);
    } else if (action.kind === 'touch') {
      if (this.object()) this.store.touch('share');
    } else {
      await this.collectCalls(); // keep the order of our writes and the world's changes exact
      await this.emu.admin.share(REGION, IMAGE, { add: action.add, remove: action.remove });
      // The emulator applies removes before adds, as ModifyImageSharePermission does.
      for (const id of action.remove) {
        this.foreign.delete(id);
        this.lastChangeOurGrant.delete(id);
      }
      for (const id of action.add) {
        this.foreign.add(id);
        this.lastChangeOurGrant.delete(id);
      }
      if (action.community !== undefined) {
        await this.emu.admin.patchImage(REGION, IMAGE, { community: action.community });
        this.foreignPublic = action.community;
      }
    }
  }

  async shutdown(): Promise<void> {
    this.incarnation?.proxy.closeAllConnections();
    this.incarnation?.proxy.close();
  }

  /**
   * The safety invariant on what ECS holds now: every shared account is foreign (shared by someone else and not
   * revoked by us since) or was asked for by some spec version since the pass that granted it began; the image is
   * public only if the world made it so or the spec at the start of the publishing pass said community: true.
   */
  async checkCloud(when: string): Promise<void> {
    await this.collectCalls();
    const img = await this.emu.admin.image(REGION, IMAGE);
    for (const { id } of img.sharedWith) {
      if (this.foreign.has(id)) continue;
      const from = this.grantedFrom.get(id);
      const asked = from !== undefined && this.specs.slice(from).some((s) => (s.accounts ?? []).includes(id));
      if (!asked)
        this.violations.push(
          `${when}: shared with ${id}, which no spec asked for since the pass that granted it began`,
        );
    }
    if (img.community && !this.foreignPublic) {
      const ok = this.publishedFrom !== undefined && this.specs[this.publishedFrom]?.community === true;
      if (!ok) this.violations.push(`${when}: public, but community: true was not set when the publishing pass began`);
    }
  }

  private async newIncarnation(): Promise<Incarnation> {
    let die!: () => void;
    const died = new Promise<'dead'>((resolve) => {
      die = () => resolve('dead');
    });
    const inc: Incarnation = {
      dead: false,
      died,
      die: () => undefined,
      deps: undefined as unknown as ReconcileDeps,
      proxy: undefined as unknown as Server,
    };
    inc.die = () => {
      inc.dead = true;
      die();
    };
    inc.proxy = await this.startProxy(inc);
    const { port } = inc.proxy.address() as AddressInfo;
    const factory = createEcsImageSharingFactory({
      endpoint: `127.0.0.1:${port}`,
      protocol: 'http',
      timeoutMs: 2000,
      qps: 10_000,
      burst: 10_000,
      maxAttempts: 2,
      // Waits (retry backoff, the rate budget's retry-after pause) are real but capped at 5 ms: the budget measures
      // time with the real clock, so a no-op sleep would spin until the pause ends.
      sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 5))),
      random: () => 0.5,
    });
    const sharing = factory.forCredentials({ type: 'static', ...KEY });
    inc.deps = {
      store: this.wrapStore(inc),
      cloud: { forCredentials: () => sharing },
      emit: () => undefined,
      now: () => new Date(this.now()),
      random: () => 0,
      defaultResyncMs: 600_000,
      readSecretCredentials: async () => ({ ok: false, message: 'unused' }),
      // The owner tag (ADR 0008) is written and read like in production, so its call is one more await to crash at.
      claims: { clusterId: 'safety-cluster', watches: () => true },
    };
    return inc;
  }

  /** Runs one side-effect-capable await of the live pass: interleaved user action, crash before/after. */
  private async gate<T>(inc: Incarnation, effect: () => Promise<T>, isRead = false): Promise<T> {
    if (inc.dead) return never<T>();
    const pass = this.pass;
    const k = pass ? pass.events++ : -1;
    if (pass?.plan.interleave?.at === k) await this.act(pass.plan.interleave.action);
    if (pass?.plan.crashAt === k && !pass.plan.crashAfter) {
      inc.die();
      return never<T>();
    }
    const out = await effect();
    if (isRead && pass && pass.startVersion === undefined) pass.startVersion = this.specs.length - 1;
    if (pass?.plan.crashAt === k && pass.plan.crashAfter) {
      inc.die();
      return never<T>();
    }
    return out;
  }

  private wrapStore(inc: Incarnation): ReconcileDeps['store'] {
    const s = this.store;
    return {
      get: (ns, name) => this.gate(inc, () => s.get(ns, name), true),
      addFinalizer: (o) => this.gate(inc, () => s.addFinalizer(o)),
      removeFinalizer: (o) => this.gate(inc, () => s.removeFinalizer(o)),
      patchStatus: (o, st: ImageShareStatus) =>
        this.gate(inc, async () => {
          for (const w of st.pendingWrites ?? []) if (w.action === 'Grant' && w.account) this.intended.add(w.account);
          return s.patchStatus(o, st);
        }),
      claimants: (regionId, imageId) => s.claimants(regionId, imageId),
    };
  }

  /** A pass-through HTTP proxy to the emulator whose requests are gated like store calls. */
  private async startProxy(inc: Incarnation): Promise<Server> {
    const target = new URL(this.emu.url);
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const forward = () =>
          new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
            (resolve, reject) => {
              const up = request(
                { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
                (r) => {
                  const out: Buffer[] = [];
                  r.on('data', (c: Buffer) => out.push(c));
                  r.on('end', () =>
                    resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(out) }),
                  );
                  r.on('error', reject);
                },
              );
              up.on('error', reject);
              up.end(body);
            },
          );
        this.gate(inc, forward).then(
          (r) => {
            res.writeHead(r.status, r.headers);
            res.end(r.body);
          },
          () => (req.socket as Socket).destroy(),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  /** Reads the emulator's new calls and records what ECS applied, attributed to the live pass. */
  private async collectCalls(): Promise<void> {
    const calls = (await this.emu.admin.calls()).calls.filter((c) => c.seq > this.seenSeq);
    if (calls.length === 0) return;
    this.seenSeq = calls.at(-1)?.seq ?? this.seenSeq;
    const version = this.pass?.startVersion ?? this.specs.length - 1;
    const deleting = this.object()?.metadata.deletionTimestamp !== undefined;
    for (const c of calls) this.record(c, version, deleting);
  }

  private record(c: CallRecord, version: number, deleting: boolean): void {
    if (c.action !== 'ModifyImageSharePermission' || (c.code !== 'OK' && c.code !== 'Fault.LostReply')) return;
    const list = (prefix: string) =>
      Object.entries(c.params)
        .filter(([k]) => k.startsWith(`${prefix}.`))
        .map(([, v]) => String(v))
        .slice(0, 10);
    if (c.params.IsPublic !== undefined) {
      const value = String(c.params.IsPublic) === 'true';
      this.applied.push({ seq: c.seq, version, deleting, kind: 'community', value });
      if (value) this.publishedFrom = version;
      else this.foreignPublic = false;
      return;
    }
    const adds = list('AddAccount');
    const removes = list('RemoveAccount');
    if (removes.length) this.applied.push({ seq: c.seq, version, deleting, kind: 'revoke', accounts: removes });
    if (adds.length) this.applied.push({ seq: c.seq, version, deleting, kind: 'grant', accounts: adds });
    for (const id of removes) {
      this.foreign.delete(id);
      this.lastChangeOurGrant.delete(id);
      const additive = this.specs[version]?.sharePolicy === 'Additive' || deleting;
      if (additive && !this.grantedFrom.has(id) && !this.intended.has(id)) {
        this.violations.push(
          `call #${c.seq}: revoked ${id} under Additive/deletion, an account this object never granted`,
        );
      }
    }
    for (const id of adds) {
      this.grantedFrom.set(id, version);
      // Adding an account someone else already shares changes nothing in ECS: the share stays theirs.
      if (!this.foreign.has(id)) this.lastChangeOurGrant.add(id);
    }
  }
}
