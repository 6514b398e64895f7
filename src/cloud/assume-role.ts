// spec.credentials.roleArn: STS AssumeRole through @alicloud/openapi-core's generic client (the same signing and
// error types as every ECS call), signed by the operator's own identity. The @alicloud/credentials role provider
// reports STS refusals, throttling and 5xx only as message text; here they come back as the SDK's typed errors with
// a code and a status, so ecs-errors.ts can tell a transient STS failure from a refusal without reading messages.
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
  constructor() {
    super('STS answered AssumeRole without usable credentials');
    this.name = 'StsMalformedAnswer';
  }
}

/**
 * A credentials provider (the @alicloud/credentials shape) that assumes `roleArn`. Caches the session and refreshes
 * it 15 minutes before it expires; concurrent callers share one refresh. Throws the SDK's own errors (ClientError,
 * ThrottlingError, ServerError, transport errors) or StsMalformedAnswer; never a bare message.
 */
export class AssumeRoleProvider {
  readonly #client: InstanceType<typeof OpenApi.default>;
  readonly #roleArn: string;
  readonly #sessionName: string;
  readonly #now: () => number;
  #session: Session | undefined;
  #refreshing: Promise<Session> | undefined;

  constructor(o: {
    roleArn: string;
    sessionName: string;
    signer: SdkCredential;
    sts?: StsOptions;
    now?: () => number;
  }) {
    this.#roleArn = o.roleArn;
    this.#sessionName = o.sessionName;
    this.#now = o.now ?? Date.now;
    const timeout = o.sts?.timeoutMs ?? 10_000;
    this.#client = new OpenApi.default(
      new OpenApi.$OpenApiUtil.Config({
        credential: o.signer,
        endpoint: o.sts?.endpoint ?? defaultStsEndpoint(),
        protocol: o.sts?.protocol ?? 'https',
        readTimeout: timeout,
        connectTimeout: timeout,
      }),
    );
  }

  getProviderName(): string {
    return 'ram_role_arn/imageshare-operator';
  }

  async getCredentials(): Promise<{
    accessKeyId: string;
    accessKeySecret: string;
    securityToken: string;
    providerName: string;
  }> {
    const s = await this.#current();
    return { ...s, providerName: this.getProviderName() };
  }

  async #current(): Promise<Session> {
    const s = this.#session;
    if (s !== undefined && this.#now() < s.expiresAt - REFRESH_BEFORE_MS) return s;
    this.#refreshing ??= this.#assume().finally(() => {
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

  async #assume(): Promise<Session> {
    const params = new OpenApi.$OpenApiUtil.Params({
      action: 'AssumeRole',
      version: '2015-04-01',
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const request = new OpenApi.$OpenApiUtil.OpenApiRequest({
      query: { RoleArn: this.#roleArn, RoleSessionName: this.#sessionName, DurationSeconds: String(SESSION_SECONDS) },
    });
    const answer = await this.#client.callApi(params, request, new $dara.RuntimeOptions({}));
    const c = (answer.body as { Credentials?: Record<string, unknown> } | undefined)?.Credentials;
    const expiresAt = Date.parse(String(c?.Expiration));
    const fields = [c?.AccessKeyId, c?.AccessKeySecret, c?.SecurityToken];
    if (!fields.every((f) => typeof f === 'string' && f !== '') || Number.isNaN(expiresAt))
      throw new StsMalformedAnswer();
    const [accessKeyId, accessKeySecret, securityToken] = fields as string[];
    this.#session = { accessKeyId, accessKeySecret, securityToken, expiresAt } as Session;
    return this.#session;
  }
}
