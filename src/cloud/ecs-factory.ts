// Builds ImageSharing ports for credential identities. Owns the shared state: one SDK credential per identity, one
// SDK client per (identity, region) — a client's endpoint is fixed when it is built, so a region needs its own — and
// the rate budgets, one per (owning account, region, action), shared by every object and every key of that account
// (see rate-budget.ts for how an identity's account becomes known). Identities unused for `idleMs` are dropped.
import { Ecs } from './ecs-sdk.ts';
import OpenApi from '@alicloud/openapi-core';
import { ErrorInBody, errorCodeInBody } from './ecs-errors.ts';
import { buildSdkCredential, credentialIdentity, type RoleOptions, type SdkCredential } from './credentials.ts';
import { type CallBudget, type EcsCallEvent, type EcsClient, EcsImageSharing } from './ecs-image-sharing.ts';
import type { CloudCredentials, ImageSharing, ImageSharingFactory } from './port.ts';
import { accountOfRoleArn, BudgetRegistry } from './rate-budget.ts';
import { DEFAULT_MAX_RESPONSE_BYTES } from './request-bounds.ts';
import { DEFAULT_RETRY } from './retry.ts';

export interface EcsFactoryOptions {
  /** host[:port] without a scheme (the SDK would double it); absent = the SDK's regional endpoint. */
  endpoint?: string;
  protocol?: 'http' | 'https';
  /**
   * Per-call ceiling in ms (--ecs-timeout): the whole call, credentials and every body byte included, ends within it
   * (request-bounds.ts). It is also the SDK's connectTimeout and readTimeout, which only bound idle time.
   */
  timeoutMs: number;
  /** The largest answer believed, in bytes; a larger one is malformed (transient). Default 1 MiB. */
  maxResponseBytes?: number;
  /** Per-action ceiling of ECS calls per second (--ecs-qps); the adaptive budgets never exceed it. */
  qps: number;
  burst: number;
  /** Identities and budgets unused this long are forgotten. Default 10 minutes. */
  idleMs?: number;
  /** Tries per ECS call, including the first. Default 4. */
  maxAttempts?: number;
  /** Backoff base and ceiling (ms) for transient errors. Defaults 200 / 20000. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Where spec.credentials.roleArn is assumed, and by whom (default: public STS, the default chain). */
  role?: RoleOptions;
  /** One event per HTTP attempt, for metrics; carries no credentials. */
  onCall?: (e: EcsCallEvent) => void;
  /** Waits `ms`; should end early when `signal` fires (waits are also raced against it). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

/** A real wait that ends (resolving) as soon as `signal` fires, so no timer outlives an aborted wait. */
function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The SDK client, unmodified, with one check on every answer before the SDK maps it to a model (which drops unknown
 * keys, so an error code in a 200 body would vanish): a 2xx whose body carries `Code` is an error (ErrorInBody).
 */
class InspectingEcsClient extends Ecs.default {
  override async callApi(...args: Parameters<EcsClient['callApi']>): ReturnType<EcsClient['callApi']> {
    const response = await super.callApi(...args);
    const code = errorCodeInBody(response.body);
    if (code !== undefined) throw new ErrorInBody(code, response.statusCode);
    return response;
  }
}

interface IdentityEntry {
  fingerprint: string;
  sharing: ImageSharing;
  lastUsed: number;
}

/**
 * The owner account named by a DescribeImages answer, when ECS names it for one of our own images. Current ECS fills
 * ImageOwnerId only for shared and community images (reference §2), so for most keys this finds nothing and the
 * budget stays keyed by the access key; it costs nothing and is right whenever the field is there.
 */
export function ownerAccountIn(action: string, response: unknown): string | undefined {
  if (action !== 'DescribeImages') return undefined;
  const images = (response as { body?: { images?: { image?: unknown } } } | undefined)?.body?.images?.image;
  if (!Array.isArray(images)) return undefined;
  for (const image of images as Array<{ imageOwnerAlias?: string; imageOwnerId?: number | string }>) {
    if (image.imageOwnerAlias === 'self' && image.imageOwnerId !== undefined) return String(image.imageOwnerId);
  }
  return undefined;
}

/**
 * A factory whose ports share per-identity clients and budgets. `forCredentials` is cheap and returns the same
 * port for the same identity until its secret material changes (then clients are rebuilt with the new secret;
 * the budget, tied to the identity, is kept). Throws RangeError at construction for a non-positive qps/burst/timeout.
 */
export function createEcsImageSharingFactory(options: EcsFactoryOptions): ImageSharingFactory {
  if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
  if (!(options.qps > 0) || !(options.burst >= 1)) {
    throw new RangeError(`qps must be > 0 and burst >= 1, got qps ${options.qps}, burst ${options.burst}`);
  }
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const idleMs = options.idleMs ?? 600_000;
  const budgets = new BudgetRegistry({ qps: options.qps, burst: options.burst, now, sleep, idleMs });
  const identities = new Map<string, IdentityEntry>();
  let lastSweep = now();

  const budgetFor = (identityKey: string, regionId: string, action: string): CallBudget => {
    const budget = budgets.budget(identityKey, regionId, action);
    return {
      take: (o) => budget.take(o),
      throttled: (retryAfterMs) => budget.throttled(retryAfterMs),
      succeeded: (response) => {
        budget.succeeded();
        const account = ownerAccountIn(action, response);
        if (account !== undefined) budgets.learnAccount(identityKey, account);
      },
    };
  };

  const sweepIdentities = (): void => {
    const t = now();
    if (t - lastSweep < idleMs / 10) return;
    lastSweep = t;
    for (const [key, entry] of identities) if (t - entry.lastUsed >= idleMs) identities.delete(key);
  };

  const clientConfig = (credential: SdkCredential, regionId: string) =>
    new OpenApi.$OpenApiUtil.Config({
      credential,
      regionId,
      protocol: options.protocol ?? 'https',
      readTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      // No retryOptions: the SDK must not retry on its own; withRetry does, under the rate budget.
    });

  const build = (credentials: CloudCredentials, identityKey: string): ImageSharing => {
    let credential: SdkCredential | undefined;
    const clients = new Map<string, EcsClient>();
    return new EcsImageSharing({
      clientFor: (regionId) => {
        let client = clients.get(regionId);
        if (!client) {
          // Built on first use: the default chain must not be probed before the environment is ready.
          credential ??= buildSdkCredential(credentials, options.role);
          client = new InspectingEcsClient(clientConfig(credential, regionId));
          clients.set(regionId, client);
        }
        return client;
      },
      budgetFor: (regionId, action) => budgetFor(identityKey, regionId, action),
      bounds: {
        timeoutMs: options.timeoutMs,
        maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      },
      retry: {
        maxAttempts: options.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
        baseMs: options.backoffBaseMs ?? DEFAULT_RETRY.baseMs,
        capMs: options.backoffCapMs ?? DEFAULT_RETRY.capMs,
        sleep,
        random,
      },
      now,
      ...(options.onCall === undefined ? {} : { onCall: options.onCall }),
    });
  };

  return {
    forCredentials(credentials: CloudCredentials): ImageSharing {
      sweepIdentities();
      const identity = credentialIdentity(credentials);
      const cached = identities.get(identity.key);
      if (cached && cached.fingerprint === identity.fingerprint) {
        cached.lastUsed = now();
        return cached.sharing;
      }
      // A role's account is in its ARN: every object assuming roles of one account shares that account's budgets.
      const roleAccount = credentials.type === 'roleArn' ? accountOfRoleArn(credentials.roleArn) : undefined;
      if (roleAccount !== undefined) budgets.learnAccount(identity.key, roleAccount);
      const sharing = build(credentials, identity.key);
      identities.set(identity.key, { fingerprint: identity.fingerprint, sharing, lastUsed: now() });
      return sharing;
    },
  };
}
