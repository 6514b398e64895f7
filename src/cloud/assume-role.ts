// STS sessions through @alicloud/openapi-core's generic client (the same transport and error types as every ECS
// call): AssumeRole for spec.credentials.roleArn, signed by the operator's own identity, and AssumeRoleWithOIDC for
// the operator's own identity under RRSA (docs/adr/0034). The @alicloud/credentials providers report STS refusals,
// throttling and 5xx only as message text; here they come back as the SDK's typed errors with a code and a status,
// so ecs-errors.ts can tell a transient STS failure from a refusal without reading messages.
import { readFile } from 'node:fs/promises';
import OpenApi from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import type { SdkCredential } from './credentials.ts';

/** Where STS is reached. Default: the public endpoint, or the regional (VPC) one the SDK's env variables name. */
export interface StsOptions {
  /** host[:port] without a scheme. */
  endpoint?: string;
  protocol?: 'http' | 'https';
  timeoutMs?: number;
}

/** Refresh this long before the session expires (as the SDK's session providers do). */
const REFRESH_BEFORE_MS = 15 * 60_000;
const SESSION_SECONDS = 3600;
const STILL_GOOD_MS = 60_000;

interface Session {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiresAt: number;
}

/** The STS endpoint the SDK would use: ALIBABA_CLOUD_STS_REGION and ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED. */
export function defaultStsEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const region = env.ALIBABA_CLOUD_STS_REGION;
  if (!region) return 'sts.aliyuncs.com';
  return env.ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED === 'true'
    ? `sts-vpc.${region}.aliyuncs.com`
    : `sts.${region}.aliyuncs.com`;
}

/** A malformed AssumeRole answer: recognised by name (transient: STS answered, but nothing usable). */
export class StsMalformedAnswer extends Error {
  constructor(options?: { cause?: unknown }) {
    super('STS answered without usable credentials', options);
    this.name = 'StsMalformedAnswer';
  }
}

/** A credentials provider (the @alicloud/credentials shape) handing out one cached, self-refreshing STS session. */
abstract class StsSessionProvider {
  protected readonly client: InstanceType<typeof OpenApi.default>;
  readonly #now: () => number;
  #session: Session | undefined;
  #refreshing: Promise<Session> | undefined;

  constructor(credential: SdkCredential | undefined, sts: StsOptions | undefined, now: (() => number) | undefined) {
    this.#now = now ?? Date.now;
    const timeout = sts?.timeoutMs ?? 10_000;
    this.client = new OpenApi.default(
      new OpenApi.$OpenApiUtil.Config({
        ...(credential === undefined ? {} : { credential }),
        endpoint: sts?.endpoint ?? defaultStsEndpoint(),
        protocol: sts?.protocol ?? 'https',
        readTimeout: timeout,
        connectTimeout: timeout,
      }),
    );
  }

  abstract getProviderName(): string;
  /** One STS call for a fresh session. Throws the SDK's errors or StsMalformedAnswer. */
  protected abstract fetchSession(): Promise<Session>;

  async getCredentials(): Promise<{
    accessKeyId: string;
    accessKeySecret: string;
    securityToken: string;
    providerName: string;
  }> {
    const { accessKeyId, accessKeySecret, securityToken } = await this.#current();
    return { accessKeyId, accessKeySecret, securityToken, providerName: this.getProviderName() };
  }

  async #current(): Promise<Session> {
    const s = this.#session;
    if (s !== undefined && this.#now() < s.expiresAt - REFRESH_BEFORE_MS) return s;
    this.#refreshing ??= this.fetchSession()
      .then((fresh) => {
        this.#session = fresh;
        return fresh;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    try {
      return await this.#refreshing;
    } catch (err: unknown) {
      // An early refresh that fails keeps the session it was replacing while that one is still good for a minute.
      if (s !== undefined && this.#now() < s.expiresAt - STILL_GOOD_MS) return s;
      throw err;
    }
  }

  /** Calls `action` (STS 2015-04-01, form body) and reads the session out of the answer. */
  protected async call(action: string, authType: 'AK' | 'Anonymous', form: Record<string, string>): Promise<Session> {
    const params = new OpenApi.$OpenApiUtil.Params({
      action,
      version: '2015-04-01',
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType,
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const request = new OpenApi.$OpenApiUtil.OpenApiRequest(authType === 'AK' ? { query: form } : { body: form });
    let answer: { body?: unknown };
    try {
      answer = await this.client.callApi(params, request, new $dara.RuntimeOptions({}));
    } catch (err: unknown) {
      // A gateway's HTML error page is not JSON: STS answered with nothing usable, which may pass (transient).
      if (err instanceof SyntaxError) throw new StsMalformedAnswer({ cause: err });
      throw err;
    }
    return sessionOf(answer.body);
  }
}

/** The session in an STS answer. Throws StsMalformedAnswer when a field is missing. */
function sessionOf(body: unknown): Session {
  const c = (body as { Credentials?: Record<string, unknown> } | undefined)?.Credentials;
  const expiresAt = Date.parse(String(c?.Expiration));
  const fields = [c?.AccessKeyId, c?.AccessKeySecret, c?.SecurityToken];
  if (!fields.every((f) => typeof f === 'string' && f !== '') || Number.isNaN(expiresAt))
    throw new StsMalformedAnswer();
  const [accessKeyId, accessKeySecret, securityToken] = fields as string[];
  return { accessKeyId, accessKeySecret, securityToken, expiresAt } as Session;
}

/**
 * Assumes `roleArn` (STS AssumeRole), signed by `signer`. Caches the session and refreshes it 15 minutes before it
 * expires; concurrent callers share one refresh. Throws the SDK's own errors (ClientError, ThrottlingError,
 * ServerError, transport errors) or StsMalformedAnswer; never a bare message.
 */
export class AssumeRoleProvider extends StsSessionProvider {
  readonly #roleArn: string;
  readonly #sessionName: string;

  constructor(o: {
    roleArn: string;
    sessionName: string;
    signer: SdkCredential;
    sts?: StsOptions;
    now?: () => number;
  }) {
    super(o.signer, o.sts, o.now);
    this.#roleArn = o.roleArn;
    this.#sessionName = o.sessionName;
  }

  getProviderName(): string {
    return 'ram_role_arn/imageshare-operator';
  }

  protected fetchSession(): Promise<Session> {
    return this.call('AssumeRole', 'AK', {
      RoleArn: this.#roleArn,
      RoleSessionName: this.#sessionName,
      DurationSeconds: String(SESSION_SECONDS),
    });
  }
}

/** RRSA: the role, the cluster's OIDC provider in RAM, and the projected ServiceAccount token's file. */
export interface RrsaOptions {
  roleArn: string;
  oidcProviderArn: string;
  tokenFile: string;
}

/**
 * The operator's own identity under RRSA: AssumeRoleWithOIDC (unsigned; the OIDC token is the proof) with the token
 * the kubelet keeps fresh in `tokenFile`, re-read for every new session. Same cache, refresh and errors as
 * AssumeRoleProvider; a token file that cannot be read fails with the file system's error (not transient).
 */
export class OidcRoleProvider extends StsSessionProvider {
  readonly #o: RrsaOptions;
  readonly #sessionName: string;

  constructor(o: RrsaOptions & { sessionName: string; sts?: StsOptions; now?: () => number }) {
    super(undefined, o.sts, o.now);
    this.#o = { roleArn: o.roleArn, oidcProviderArn: o.oidcProviderArn, tokenFile: o.tokenFile };
    this.#sessionName = o.sessionName;
  }

  getProviderName(): string {
    return 'oidc_role_arn/imageshare-operator';
  }

  protected async fetchSession(): Promise<Session> {
    const token = (await readFile(this.#o.tokenFile, 'utf8')).trim();
    return this.call('AssumeRoleWithOIDC', 'Anonymous', {
      RoleArn: this.#o.roleArn,
      OIDCProviderArn: this.#o.oidcProviderArn,
      OIDCToken: token,
      RoleSessionName: this.#sessionName,
      DurationSeconds: String(SESSION_SECONDS),
    });
  }
}
