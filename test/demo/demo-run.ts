// The eight steps of `npm run demo`, in the order the issue lists them. Each step prints what it does and why,
// shows real command output (kubectl from the control plane, the emulator's admin API) and throws with a clear
// message when what it should show does not happen. Everything started is registered with the Teardown.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageShare } from '../../src/api/types.ts';
import { loadSeedFile } from '../emulator/seed.ts';
import { type Emulator, startEmulator } from '../emulator/server.ts';
import { type ControlPlane, ensureBinaries, startControlPlane } from '../harness/control-plane.ts';
import { type OperatorProcess, startOperator } from '../harness/operator.ts';
import type { DemoOptions } from './demo-args.ts';
import { type ExampleFile, loadExamples } from './examples.ts';
import { fleetStep } from './fleet-step.ts';
import { KubeCli, kubectlOnPath } from '../harness/kube-cli.ts';
import { pollUntil } from './poll.ts';
import type { Progress } from './progress.ts';
import { COMMUNITY, DRIFT_ACCOUNT, FAILING, GOLDEN, IMAGE_BUILDING_REASON, PLAN } from './scenario.ts';
import { checkExpectedReasons, settledVerdict, summarizeReasons } from './settle.ts';
import type { Teardown } from './teardown.ts';
import { condition, describeReady, type WatchVerdict, watchImageShares } from './watch-imageshares.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CRDS_DIR = join(ROOT, 'crds');
const EXAMPLES_DIR = join(ROOT, 'examples');
const SAMPLE_WORLD = join(ROOT, 'test', 'emulator', 'sample-world.yaml');
const RECONCILE_ANNOTATION = 'ecs.alicloud.dev/reconcile-requested-at';

export interface DemoClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** What `--keep` prints so the user can keep exploring. */
export interface KeptEnvironment {
  kubeconfig: string;
  binDir: string | undefined;
  namespace: string;
  emulatorEndpoint: string;
  emulatorUrl: string;
  operatorLog: string;
}

export class DemoRun {
  private readonly options: DemoOptions;
  private readonly progress: Progress;
  private readonly teardown: Teardown;
  private readonly clock: DemoClock;
  private binDir: string | undefined;
  private kubeCli: KubeCli | undefined;
  private emu: Emulator | undefined;
  private op: OperatorProcess | undefined;
  private examples: ExampleFile[] = [];

  constructor(options: DemoOptions, progress: Progress, teardown: Teardown, clock: DemoClock) {
    this.options = options;
    this.progress = progress;
    this.teardown = teardown;
    this.clock = clock;
  }

  /** The operator's log file once it has started, for failure messages. */
  get operator(): OperatorProcess | undefined {
    return this.op;
  }

  /** Runs steps 1-8 (step 8 stops short of tearing down; the caller does that, or keeps everything with --keep). */
  async run(): Promise<KeptEnvironment> {
    await this.step1Binaries();
    await this.step2Start();
    await this.step3Apply();
    await this.step4Ready();
    await this.step5Drift();
    await this.step6Failing();
    await this.step7Fleet();
    await this.step8Calls();
    return this.kept();
  }

  private get kube(): KubeCli {
    if (this.kubeCli === undefined) throw new Error('kubectl is not set up yet (step 2 did not run)');
    return this.kubeCli;
  }

  private get emulator(): Emulator {
    if (this.emu === undefined) throw new Error('the emulator is not running (step 2 did not run)');
    return this.emu;
  }

  private get ns(): string {
    return this.options.namespace;
  }

  private async step1Binaries(): Promise<void> {
    const p = this.progress;
    if (this.options.kubeconfig !== undefined) {
      p.begin(
        1,
        'Using an existing cluster (--kubeconfig)',
        'No control plane to build or start; only kubectl is needed.',
      );
      const found = kubectlOnPath();
      if (found !== undefined) {
        this.binDir = join(found, '..');
        p.info(`kubectl: ${found} (from PATH)`);
        return;
      }
      p.info('no kubectl on PATH: building or reusing the control plane binaries for it');
    } else {
      p.begin(
        1,
        'Building or reusing the control plane',
        'etcd, kube-apiserver and kubectl built from Go modules and cached (first run: 10-20 min, progress below).',
      );
    }
    this.binDir = await ensureBinaries();
    p.info(`binaries: ${this.binDir}`);
  }

  private async step2Start(): Promise<void> {
    const p = this.progress;
    if (this.options.kubeconfig === undefined) {
      p.begin(
        2,
        'Starting the control plane, the ECS emulator and the operator',
        'A real kube-apiserver, a fake ECS seeded with a sample world, and the operator exactly as a user runs it.',
      );
    } else {
      p.begin(
        2,
        'Installing the CRD, starting the ECS emulator and the operator',
        'A fake ECS seeded with a sample world, and the operator exactly as a user runs it, against your cluster.',
      );
    }
    const kubeconfig = await this.startOrReuseCluster();
    const cacheDir = await mkdtemp(join(tmpdir(), 'imageshare-demo-kubecache-'));
    this.teardown.add('kubectl discovery cache', () => rm(cacheDir, { recursive: true, force: true }));
    this.kubeCli = new KubeCli(join(this.binDir ?? '', 'kubectl'), kubeconfig, cacheDir);
    await this.installCrd();

    const seed = await loadSeedFile(SAMPLE_WORLD);
    this.emu = await startEmulator({ seed });
    const emulator = this.emu;
    this.teardown.add('ECS emulator', () => emulator.close());
    p.info(
      `ECS emulator: endpoint ${emulator.endpoint}, admin API ${emulator.url}/_admin/ (world: test/emulator/sample-world.yaml)`,
    );

    const key = seed.owners[0]?.keys[0];
    if (key === undefined) throw new Error(`${SAMPLE_WORLD} has no owner with a key for the operator's own identity`);
    this.op = await startOperator({
      kubeconfig,
      ecsEndpoint: emulator.endpoint,
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      namespaces: [this.ns],
    });
    const op = this.op;
    this.teardown.add('operator (SIGTERM)', async () => {
      const code = await op.stop();
      if (code !== 0) throw new Error(`the operator exited with ${String(code)}; see ${op.logPath}`);
    });
    p.info(
      `operator: node src/main.ts --namespaces ${this.ns} --tenancy-mode=open --ecs-endpoint ${emulator.endpoint} --ecs-protocol http`,
    );
    p.info(
      `          identity: access key ${key.accessKeyId} of owner ${seed.owners[0]?.id ?? '?'} (from the environment; the secret is never printed)`,
    );
    p.info(
      `          log: ${op.logPath}   health: http://127.0.0.1:${op.healthPort}/readyz   metrics: http://127.0.0.1:${op.metricsPort}/metrics`,
    );
  }

  private async startOrReuseCluster(): Promise<string> {
    if (this.options.kubeconfig !== undefined) {
      this.progress.info(`cluster: the one in ${this.options.kubeconfig} (--kubeconfig)`);
      return this.options.kubeconfig;
    }
    const plane: ControlPlane = await startControlPlane(this.binDir === undefined ? {} : { binDir: this.binDir });
    this.teardown.add('control plane (kube-apiserver, etcd)', () => plane.stop());
    this.progress.info(`control plane: ${plane.server} (kubeconfig ${plane.kubeconfigPath})`);
    return plane.kubeconfigPath;
  }

  private async installCrd(): Promise<void> {
    const applied = await this.kube.run(['apply', '-f', CRDS_DIR]);
    this.progress.command('kubectl apply -f crds/', applied.stdout);
    await this.kube.run(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRDS_DIR]);
    await pollUntil(this.pollDeps(), 'the ImageShare API to be served', async () => {
      const r = await this.kube.run(['get', 'imageshares.ecs.alicloud.dev', '-n', this.ns], { allowFail: true });
      return r.code === 0 ? true : r.stderr.trim();
    });
  }

  private async step3Apply(): Promise<void> {
    const p = this.progress;
    p.begin(
      3,
      'Applying examples/*.yaml with kubectl',
      'The commented manifests a platform engineer would keep in Git (see examples/).',
    );
    this.examples = await loadExamples(EXAMPLES_DIR, this.ns);
    const existed = (await this.kube.run(['get', 'namespace', this.ns], { allowFail: true })).code === 0;
    if (this.options.kubeconfig !== undefined) this.registerObjectCleanup(existed);
    for (const example of this.examples) {
      const r = await this.kube.run(['apply', '-f', '-'], { input: example.manifest });
      p.command(`kubectl apply -f examples/${example.file}`, r.stdout);
    }
    if (this.ns !== 'platform-images') p.info(`(namespace platform-images replaced by ${this.ns}, from --namespace)`);
  }

  /**
   * On an existing cluster the demo removes what it created. ImageShares go first, while the operator still runs,
   * so their finalizers are released (the community example, with deletionPolicy Revoke, is unpublished).
   */
  private registerObjectCleanup(namespaceExisted: boolean): void {
    const objects = this.examples.flatMap((e) => e.objects);
    const kube = this.kube;
    if (!namespaceExisted) {
      this.teardown.add(`namespace ${this.ns}`, async () => {
        await kube.run(['delete', 'namespace', this.ns, '--wait=false', '--ignore-not-found']);
      });
    }
    this.teardown.add(`the examples' objects in ${this.ns}`, async () => {
      const ordered = [
        ...objects.filter((o) => o.kind === 'ImageShare'),
        ...objects.filter((o) => o.kind !== 'ImageShare' && o.kind !== 'Namespace'),
      ];
      for (const o of ordered) {
        await kube.run(['delete', o.kind, o.name, '-n', this.ns, '--ignore-not-found', '--timeout=60s']);
      }
    });
  }

  private async step4Ready(): Promise<void> {
    const p = this.progress;
    p.begin(
      4,
      'Watching the ImageShares go Ready',
      "kubectl prints the CRD's printer columns; the table is shown again whenever it changes.",
    );
    p.info(`${COMMUNITY.name} waits for its image, which ECS is still building (reason ${IMAGE_BUILDING_REASON}).`);
    await this.watch('the examples to settle while the community image is being built', (items) =>
      settledVerdict(items, true),
    );

    p.info(`ECS finishes building ${COMMUNITY.imageId}: the emulator's admin API sets its status to Available.`);
    await this.emulator.admin.patchImage(COMMUNITY.regionId, COMMUNITY.imageId, { status: 'Available' });
    await this.poke(COMMUNITY.name, 'the operator retries with backoff anyway; the annotation asks it to look now');
    const items = await this.watch('every example to settle', (all) => settledVerdict(all, false));
    checkExpectedReasons(items);
    p.info(`settled: ${summarizeReasons(items)}`);

    const plan = await this.kube.run(['get', 'ishare', PLAN.name, '-n', this.ns, '-o', 'jsonpath={.status.plan}']);
    p.info(`${PLAN.name} is in mode Plan: status.plan is what Apply would do, and nothing was written to ECS.`);
    p.command(`kubectl get ishare ${PLAN.name} -n ${this.ns} -o jsonpath='{.status.plan}'`, plan.stdout);
  }

  private async step5Drift(): Promise<void> {
    const p = this.progress;
    p.begin(
      5,
      'Changing the cloud out of band and watching the drift being corrected',
      `Someone shares ${GOLDEN.name} with one more account in the console; the Authoritative object reverts it.`,
    );
    const golden = await this.kube.getJson<ImageShare>('ishare', this.ns, GOLDEN.name);
    const wanted = [...(golden.spec.accounts ?? [])].sort();
    p.info(
      `cloud share list before: ${(await this.cloudShares()).join(', ')}   (${GOLDEN.imageId}, read from the emulator)`,
    );
    await this.emulator.admin.share(GOLDEN.regionId, GOLDEN.imageId, { add: [DRIFT_ACCOUNT] });
    p.info(
      `out of band, through the emulator's admin API (as the console would): shared ${GOLDEN.imageId} with ${DRIFT_ACCOUNT}`,
    );
    p.info(`cloud share list now:    ${(await this.cloudShares()).join(', ')}`);
    await this.poke(
      GOLDEN.name,
      `the operator's resync (resyncInterval 5m in the example) would catch it; a demo should not wait that long`,
    );

    await pollUntil(this.pollDeps(), `${DRIFT_ACCOUNT} to be revoked and a DriftCorrected event`, async () => {
      const shares = await this.cloudShares();
      const reasons = await this.eventReasons(GOLDEN.name);
      if (shares.join() === wanted.join() && reasons.includes('DriftCorrected')) return true;
      return `cloud share list ${shares.join(', ')}; events ${reasons.join(', ') || 'none'}`;
    });
    p.info(
      `cloud share list after:  ${(await this.cloudShares()).join(', ')}  (= spec.accounts; ${DRIFT_ACCOUNT} revoked)`,
    );
    await this.showEvents(GOLDEN.name);
  }

  private async step6Failing(): Promise<void> {
    const p = this.progress;
    p.begin(
      6,
      `Looking at the failing example (${FAILING.name})`,
      'An object that cannot succeed says why in its conditions, in a sentence a user can act on, and is not retried hot.',
    );
    const o = await this.kube.getJson<ImageShare>('ishare', this.ns, FAILING.name);
    const ready = condition(o, 'Ready');
    const stalled = condition(o, 'Stalled');
    if (ready?.reason !== FAILING.reason || stalled?.status !== 'True') {
      throw new Error(`${FAILING.name} should be Stalled with reason ${FAILING.reason}; it is: ${describeReady(o)}`);
    }
    p.info(`Ready=${ready.status}, reason ${ready.reason}: ${ready.message}`);
    p.info(
      `Stalled=True: only a change to the spec (or to the image) helps; the operator rechecks at the resync interval.`,
    );
    const conditions = await this.kube.run([
      'get',
      'ishare',
      FAILING.name,
      '-n',
      this.ns,
      '-o',
      'jsonpath={range .status.conditions[*]}{.type}{"\\t"}{.status}{"\\t"}{.reason}{"\\t"}{.message}{"\\n"}{end}',
    ]);
    p.command(
      `kubectl get ishare ${FAILING.name} -n ${this.ns} -o jsonpath='{range .status.conditions[*]}{.type} {.status} {.reason} {.message}{"\\n"}{end}'`,
      conditions.stdout,
    );
    const accounts = await this.kube.run([
      'get',
      'ishare',
      FAILING.name,
      '-n',
      this.ns,
      '-o',
      'jsonpath={range .status.accounts[*]}{.id}{"\\t"}{.state}{"\\t"}{.reason}{"\\n"}{end}',
    ]);
    p.command(
      `kubectl get ishare ${FAILING.name} -n ${this.ns} -o jsonpath='{range .status.accounts[*]}{.id} {.state} {.reason}{"\\n"}{end}'`,
      accounts.stdout || '(no per-account outcomes)',
    );
    await this.showEvents(FAILING.name);
  }

  private async step7Fleet(): Promise<void> {
    this.progress.begin(
      7,
      'A golden-image pipeline: a new build joins the family, the oldest falls out of keep',
      'An ImageShareSet shares the newest builds of an ECS image family in every region through one child ImageShare each.',
    );
    await fleetStep({
      kube: this.kube,
      emulator: this.emulator,
      progress: this.progress,
      teardown: this.teardown,
      namespace: this.ns,
      examplesDir: EXAMPLES_DIR,
      cleanUp: this.options.kubeconfig !== undefined,
      poll: this.pollDeps(),
      poke: (kind, name, why) => this.poke(name, why, kind),
    });
  }

  private async step8Calls(): Promise<void> {
    const p = this.progress;
    p.begin(
      8,
      'ECS calls made, then teardown',
      'Every call the operator made through the unmodified Alibaba Cloud SDK, as the emulator recorded it.',
    );
    const { counts } = await this.emulator.admin.calls();
    const total = Object.values(counts.byAction).reduce((a, b) => a + b, 0);
    p.info(`${total} ECS API calls:`);
    for (const [action, n] of Object.entries(counts.byAction).sort()) {
      const codes = Object.entries(counts.byActionAndCode[action] ?? {})
        .map(([code, c]) => `${code} ${c}`)
        .join(', ');
      p.info(`  ${action.padEnd(30)} ${String(n).padStart(4)}   (${codes})`);
    }
  }

  private kept(): KeptEnvironment {
    return {
      kubeconfig: this.kube.kubeconfig,
      binDir: this.binDir,
      namespace: this.ns,
      emulatorEndpoint: this.emulator.endpoint,
      emulatorUrl: this.emulator.url,
      operatorLog: this.op?.logPath ?? '',
    };
  }

  private watch(what: string, check: (items: ImageShare[]) => WatchVerdict): Promise<ImageShare[]> {
    const deps = { kube: this.kube, progress: this.progress, namespace: this.ns, ...this.pollDeps() };
    return watchImageShares(deps, what, check);
  }

  private pollDeps(): { timeoutMs: number; now: () => number; sleep: (ms: number) => Promise<void> } {
    return { timeoutMs: this.options.waitTimeoutMs, now: this.clock.now, sleep: this.clock.sleep };
  }

  /** Sets the reconcile-requested-at annotation, showing the kubectl command. */
  private async poke(name: string, why: string, kind = 'ishare'): Promise<void> {
    const value = new Date(this.clock.now()).toISOString();
    const args = ['annotate', kind, name, '-n', this.ns, '--overwrite', `${RECONCILE_ANNOTATION}=${value}`];
    const r = await this.kube.run(args);
    this.progress.command(`kubectl ${args.join(' ')}`, r.stdout);
    this.progress.info(`(${why})`);
  }

  private async cloudShares(): Promise<string[]> {
    return (await this.emulator.admin.image(GOLDEN.regionId, GOLDEN.imageId)).sharedWith.map((s) => s.id).sort();
  }

  private async eventReasons(name: string): Promise<string[]> {
    const args = [
      'get',
      'events',
      '-n',
      this.ns,
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'jsonpath={.items[*].reason}',
    ];
    return (await this.kube.run(args)).stdout.split(/\s+/).filter(Boolean);
  }

  private async showEvents(name: string): Promise<void> {
    const args = [
      'get',
      'events',
      '-n',
      this.ns,
      '--field-selector',
      `involvedObject.name=${name}`,
      '--sort-by=.metadata.creationTimestamp',
    ];
    const r = await this.kube.run(args);
    this.progress.command(`kubectl ${args.join(' ')}`, r.stdout || r.stderr);
  }
}
