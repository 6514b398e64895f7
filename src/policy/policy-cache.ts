// The reconcile-time half of docs/adr/0024 in the running operator: ImageSharePolicies and namespace labels held by
// two supervised informers (src/kube/informer.ts), so a decision costs no API call and a policy or label edit
// re-evaluates the ImageShares it concerns within seconds (onChange). Fails closed (docs/adr/0030): in restricted mode
// nothing is allowed while policies cannot be read, including when the ImageSharePolicy CRD is not installed or is
// deleted while the operator runs; a deleted policy keeps applying until the CRD is seen to be still there, because
// deleting the CRD first deletes every policy.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { type ImageSharePolicy, POLICY_PLURAL } from '../api/policy-types.ts';
import { GROUP, type ImageShareSpec, VERSION } from '../api/types.ts';
import { describeApiError, httpStatusOf } from '../kube/api-errors.ts';
import { Informer, type InformerEvent, keyOf } from '../kube/informer.ts';
import type { Log } from '../runtime/logger.ts';
import { type Decision, evaluate, PolicyRule, selects, type Tenancy, TenancyMode } from './evaluate.ts';

/** What a namespace is to the policies: its name and labels. */
interface NamespaceMeta {
  metadata?: {
    name?: string | undefined;
    uid?: string | undefined;
    resourceVersion?: string | undefined;
    labels?: Record<string, string>;
  };
}

/** Namespaces whose ImageShares a change concerns, or 'all'. */
export type Affected = 'all' | ReadonlySet<string>;

export interface PolicyCacheOptions {
  tenancy: Tenancy;
  log: Log;
  /** After a policy or namespace-label change (not the first LIST): the ImageShares there must be judged again. */
  onChange: (affected: Affected) => void;
  /** How long decide() waits for the first LISTs before it fails closed. Default 10 s. */
  syncWaitMs?: number;
  /** While the CRD is missing: how often to look for it. Default 10 s. */
  crdPollMs?: number;
  /** How long a deleted policy keeps applying before the CRD is checked and the deletion believed. Default 3 s. */
  deletionSettleMs?: number;
}

/** The name a denial carries when policies cannot be read (no ImageSharePolicy was judged). */
export const POLICIES_UNREADABLE = 'ImageSharePolicy CRD';

export class PolicyCache {
  readonly name = 'ImageSharePolicy';
  readonly #o: PolicyCacheOptions;
  readonly #kc: KubeConfig;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  /** Replaced by a fresh informer (a full LIST) when the CRD comes back after it was gone. */
  #policies: Informer<ImageSharePolicy>;
  readonly #namespaces: Informer<NamespaceMeta>;
  #crdMissing = false;
  /** What the last LIST of policies found: the CRD, or a 404. */
  #lastList: 'ok' | 'missing' = 'ok';
  /** Policies deleted less than deletionSettleMs ago (or while the CRD check failed): they still apply. */
  readonly #tombstones = new Map<string, ImageSharePolicy>();
  #settle: NodeJS.Timeout | undefined;
  #replacing: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #poll: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, options: PolicyCacheOptions) {
    this.#o = options;
    this.#kc = kc;
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#policies = this.#policyInformer();
    this.#namespaces = new Informer<NamespaceMeta>(kc, {
      kind: 'Namespace',
      namespaces: 'all',
      listPage: async (_ns, { limit, continue: token }) => {
        const list = await this.#core.listNamespace({ limit, ...(token === undefined ? {} : { _continue: token }) });
        const { resourceVersion, _continue } = list.metadata ?? {};
        return { items: list.items as NamespaceMeta[], metadata: { resourceVersion, continue: _continue } };
      },
      watchPath: () => '/api/v1/namespaces',
      keep: ({ metadata: m = {} }) => ({
        metadata: { name: m.name, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels ?? {} },
      }),
      onEvent: (e) => this.#namespaceEvent(e),
      log: options.log,
    });
  }

  #policyInformer(): Informer<ImageSharePolicy> {
    return new Informer<ImageSharePolicy>(this.#kc, {
      kind: 'ImageSharePolicy',
      namespaces: 'all',
      listPage: (_ns, page) => this.#listPolicies(page),
      watchPath: () => `/apis/${GROUP}/${VERSION}/${POLICY_PLURAL}`,
      keep: (p) => p,
      onEvent: (e) => this.#policyEvent(e),
      // A watch answered 404: the CRD was deleted under a running operator.
      onError: (err) => {
        if (httpStatusOf(err) === 404) this.#crdLost(true);
      },
      log: this.#o.log,
      maxBackoffMs: 10_000,
    });
  }

  /** Starts both informers; resolves once both hold their first LIST (a missing CRD counts as an empty LIST). */
  start(): Promise<void> {
    this.#started ??= Promise.all([this.#policies.start(), this.#namespaces.start()]).then(() => undefined);
    return this.#started;
  }

  async stop(): Promise<void> {
    clearInterval(this.#poll);
    clearTimeout(this.#settle);
    this.#poll = undefined;
    await this.#replacing;
    await Promise.all([this.#policies.stop(), this.#namespaces.stop()]);
  }

  synced(): boolean {
    return this.#policies.synced() && this.#namespaces.synced();
  }

  /**
   * The decision for an ImageShare in `namespace`. Never throws: while policies cannot be read (not listed within
   * syncWaitMs, or the CRD is missing) restricted mode denies, and open mode allows (no policy can exist).
   */
  async decide(namespace: string, spec: ImageShareSpec): Promise<Decision> {
    if (!this.#crdMissing && !(await this.#waitSynced())) return this.#unreadable();
    if (this.#crdMissing) return this.#o.tenancy.mode === TenancyMode.Open ? { allowed: true } : this.#unreadable();
    const labels = await this.#labelsOf(namespace);
    const policies = [...this.#policies.list(), ...this.#tombstones.values()];
    return evaluate(spec, { name: namespace, labels }, policies, this.#o.tenancy);
  }

  #unreadable(): Decision {
    const why = this.#crdMissing
      ? 'the ImageSharePolicy CRD (imagesharepolicies.ecs.alicloud.dev) is not installed'
      : 'the ImageSharePolicies could not be read yet (see the operator log)';
    return {
      allowed: false,
      policy: POLICIES_UNREADABLE,
      rule: PolicyRule.Mode,
      enforce: false, // nothing was judged: a revoke needs a policy that was read
      message: `${POLICIES_UNREADABLE} denies rule ${PolicyRule.Mode}: ${why}, and tenancy mode restricted reconciles nothing it cannot judge; install crds/imagesharepolicy.yaml (the chart does), or set tenancy.mode: open (--tenancy-mode=open)`,
    };
  }

  async #waitSynced(): Promise<boolean> {
    if (this.synced()) return true;
    const ms = this.#o.syncWaitMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.start().then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Labels from the cache; a namespace the cache has not seen yet is read once (never judged as unlabelled). */
  async #labelsOf(namespace: string): Promise<Record<string, string>> {
    const cached = this.#namespaces.get(`/${namespace}`);
    if (cached !== undefined) return cached.metadata?.labels ?? {};
    const ns = await this.#core.readNamespace({ name: namespace });
    return ns.metadata?.labels ?? {};
  }

  async #listPolicies(page: { limit: number; continue?: string }) {
    try {
      const list = (await this.#custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: POLICY_PLURAL,
        limit: page.limit,
        ...(page.continue === undefined ? {} : { _continue: page.continue }),
      })) as { items?: ImageSharePolicy[]; metadata?: { resourceVersion?: string; continue?: string } };
      this.#lastList = 'ok';
      return list;
    } catch (err: unknown) {
      if (httpStatusOf(err) !== 404) throw err;
      this.#lastList = 'missing';
      this.#crdLost(false);
      // An empty LIST: the informer counts as synced and keeps retrying its watch until the CRD appears.
      return { items: [], metadata: { resourceVersion: '' } };
    }
  }

  /**
   * The CRD is gone: restricted mode denies everything until it is back (its policies were deleted with it). At run
   * time (`running`) every ImageShare is judged again and the policy informer stops; a poll looks for the CRD.
   */
  #crdLost(running: boolean): void {
    if (this.#crdMissing) return;
    this.#crdMissing = true;
    clearTimeout(this.#settle);
    this.#tombstones.clear();
    const restricted = this.#o.tenancy.mode === TenancyMode.Restricted;
    this.#o.log.warn(
      { mode: this.#o.tenancy.mode },
      restricted
        ? 'the ImageSharePolicy CRD is not installed: tenancy mode restricted denies every ImageShare (PolicyDenied) until it is; install crds/imagesharepolicy.yaml or set --tenancy-mode=open'
        : 'the ImageSharePolicy CRD is not installed: no ImageSharePolicy applies until it is',
    );
    this.#poll = setInterval(() => void this.#lookForCrd(), this.#o.crdPollMs ?? 10_000);
    this.#poll.unref();
    if (!running) return;
    void this.#policies.stop();
    this.#o.onChange('all');
  }

  /** The CRD answers again: a fresh informer LISTs every policy, and only then are decisions made from them. */
  #crdReturned(): void {
    this.#replacing ??= (async () => {
      const stale = this.#policies;
      await stale.stop();
      this.#policies = this.#policyInformer();
      await this.#policies.start();
      if (this.#lastList !== 'ok' || !this.#crdMissing) return;
      this.#crdMissing = false;
      clearInterval(this.#poll);
      this.#poll = undefined;
      this.#o.log.info({}, 'the ImageSharePolicy CRD is installed: policies apply again');
      this.#o.onChange('all');
    })()
      .catch((err: unknown) => this.#o.log.warn({ err: describeApiError(err) }, 'ImageSharePolicy relist failed'))
      .finally(() => {
        this.#replacing = undefined;
      });
  }

  async #lookForCrd(): Promise<void> {
    try {
      await this.#custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: POLICY_PLURAL, limit: 1 });
      this.#crdReturned();
    } catch (err: unknown) {
      if (httpStatusOf(err) !== 404) this.#o.log.warn({ err: describeApiError(err) }, 'ImageSharePolicy lookup failed');
    }
  }

  /** A deleted policy is believed only once the CRD is seen after the settle time (it may be the CRD's deletion). */
  #settleDeletions(): void {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => void this.#checkDeletions(), this.#o.deletionSettleMs ?? 3_000);
    this.#settle.unref();
  }

  async #checkDeletions(): Promise<void> {
    if (this.#crdMissing || this.#tombstones.size === 0) return;
    try {
      await this.#custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: POLICY_PLURAL, limit: 1 });
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return this.#crdLost(true);
      this.#o.log.warn({ err: describeApiError(err) }, 'ImageSharePolicy lookup failed; deleted policies still apply');
      return this.#settleDeletions();
    }
    const gone = [...this.#tombstones.values()];
    this.#tombstones.clear();
    this.#o.onChange(
      affectedNamespaces(
        gone.map((p) => p.spec?.namespaceSelector ?? {}),
        this.#namespaces.list(),
      ),
    );
  }

  #policyEvent({ type, obj, old, initial }: InformerEvent<ImageSharePolicy>): void {
    if (initial) return;
    if (type === 'deleted') {
      this.#tombstones.set(obj.metadata.name, obj);
      this.#settleDeletions();
      return;
    }
    if (old !== undefined && JSON.stringify(old.spec) === JSON.stringify(obj.spec)) return;
    const selectors = [obj, ...(old === undefined ? [] : [old])].map((p) => p.spec?.namespaceSelector ?? {});
    this.#o.onChange(affectedNamespaces(selectors, this.#namespaces.list()));
  }

  #namespaceEvent({ type, obj, old, initial }: InformerEvent<NamespaceMeta>): void {
    if (initial || type === 'deleted') return;
    if (JSON.stringify(old?.metadata?.labels ?? {}) === JSON.stringify(obj.metadata?.labels ?? {})) return;
    this.#o.onChange(new Set([obj.metadata?.name ?? keyOf(obj).slice(1)]));
  }
}

/** The namespaces any of `selectors` selects. Pure. */
export function affectedNamespaces(
  selectors: readonly ImageSharePolicy['spec']['namespaceSelector'][],
  namespaces: readonly NamespaceMeta[],
): Set<string> {
  const names = namespaces
    .filter((ns) => selectors.some((s) => selects(s, ns.metadata?.labels ?? {})))
    .map((ns) => ns.metadata?.name ?? '');
  return new Set(names);
}
