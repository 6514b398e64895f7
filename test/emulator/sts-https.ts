// The STS stand-in over HTTPS: a TLS front for the emulator, which answers AssumeRole (world.ts) and checks the
// request's signature like any other action. Its certificate comes from a throwaway test CA (test/harness/tiny-ca.ts);
// a Node process trusts it through NODE_EXTRA_CA_CERTS=<caPath>, so the operator's SDK verifies it as it would the
// real sts.aliyuncs.com. The front counts requests, so a test can tell that STS was reached over TLS.
// It answers AssumeRoleWithOIDC itself (RRSA; the checks are in sts-oidc.ts): a granted session is a fresh STS key it
// adds to the role's account in the emulator, which refuses it (InvalidSecurityToken.Expired) once it expires. It can
// also play an STS outage (503, throttling, or refused connections) for every action.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TinyCa } from '../harness/tiny-ca.ts';
import type { AdminClient } from './admin-client.ts';
import { decideOidc, type OidcProvider, type OidcRole } from './sts-oidc.ts';

export interface StsFront {
  /** host:port for --sts-endpoint (with --sts-protocol https). */
  endpoint: string;
  /** The CA certificate file to trust (NODE_EXTRA_CA_CERTS). */
  caPath: string;
  /** Requests received over TLS, by the Action query parameter. */
  requests(): string[];
  /** AssumeRoleWithOIDC outcomes, oldest first: `OK` or STS's code, with the role and the session key granted. */
  oidcAnswers(): OidcAnswer[];
  /** Until called again with undefined, every request gets this failure (an STS outage or throttling). */
  setOutage(outage: StsOutage | undefined): void;
  /** Stops listening (clients see connection refused) until `resume()`, which listens on the same port again. */
  refuseConnections(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export type StsOutage = 'unavailable' | 'throttled';

export interface OidcAnswer {
  code: string;
  roleArn: string;
  /** The session's key ID (never its secret or token), for a granted session. */
  accessKeyId?: string;
}

export interface StsFrontOptions {
  /** Rewrites each AssumeRole answer's Credentials.Expiration to now + this (the emulator always grants >= 900 s). */
  sessionLifetimeMs?: number;
  /** AssumeRoleWithOIDC: the registered providers and roles, and the emulator's admin API to add sessions to. */
  oidc?: OidcTrust;
  /** Plain HTTP instead of TLS, for in-process tests (a running Node cannot trust a new CA). */
  plainHttp?: boolean;
}

export interface OidcTrust {
  providers: readonly OidcProvider[];
  roles: readonly OidcRole[];
  admin: AdminClient;
  /** The Expiration a session states (default 3600 s from now). */
  sessionLifetimeMs?: number;
  /** How long the emulator really accepts a session (default: sessionLifetimeMs); shorter proves a refresh. */
  sessionValidMs?: number;
}

const OUTAGES: Record<StsOutage, { status: number; code: string; message: string }> = {
  unavailable: {
    status: 503,
    code: 'ServiceUnavailable',
    message: 'The request has failed due to a temporary failure of the server.',
  },
  throttled: { status: 400, code: 'Throttling.User', message: 'Request was denied due to user flow control.' },
};

function sendStsJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify({ RequestId: randomBytes(16).toString('hex').toUpperCase(), ...body });
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** STS's time format: seconds, Z. */
const stsTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** AssumeRoleWithOIDC: decides, and for a grant adds a fresh session key to the role's account in the emulator. */
async function answerOidc(req: IncomingMessage, res: ServerResponse, trust: OidcTrust, log: OidcAnswer[]) {
  const form = await readForm(req);
  const roleArn = form.get('RoleArn') ?? '';
  const decision = decideOidc(
    { roleArn, providerArn: form.get('OIDCProviderArn') ?? '', token: form.get('OIDCToken') ?? '' },
    trust,
    Date.now(),
  );
  if ('code' in decision) {
    log.push({ code: decision.code, roleArn });
    sendStsJson(res, decision.status, { Code: decision.code, Message: decision.message });
    return;
  }
  const now = Date.now();
  const lifetime = trust.sessionLifetimeMs ?? 3_600_000;
  const session = {
    accessKeyId: `STS.test${randomBytes(8).toString('hex')}`,
    accessKeySecret: randomBytes(18).toString('base64url'),
    securityToken: `itest-oidc-${randomBytes(24).toString('base64url')}`,
  };
  await trust.admin.addKey(decision.role.account, {
    ...session,
    expiresAt: new Date(now + (trust.sessionValidMs ?? lifetime)).toISOString(),
  });
  log.push({ code: 'OK', roleArn, accessKeyId: session.accessKeyId });
  const sessionName = form.get('RoleSessionName') ?? '';
  sendStsJson(res, 200, {
    AssumedRoleUser: { Arn: `${roleArn}/${sessionName}`, AssumedRoleId: `3${decision.role.account}:${sessionName}` },
    OIDCTokenInfo: { Subject: decision.subject, Issuer: decision.provider.issuer },
    Credentials: {
      AccessKeyId: session.accessKeyId,
      AccessKeySecret: session.accessKeySecret,
      SecurityToken: session.securityToken,
      Expiration: stsTime(now + lifetime),
    },
  });
}

/** Expiration rewritten to now + ms, in STS's format (seconds, Z). */
function withLifetime(body: Buffer, ms: number): Buffer {
  const answer = JSON.parse(body.toString('utf8')) as { Credentials?: { Expiration?: string } };
  if (answer.Credentials === undefined) return body;
  answer.Credentials.Expiration = stsTime(Date.now() + ms);
  return Buffer.from(JSON.stringify(answer));
}

/** Serves HTTPS on a free loopback port, forwarding every request to the emulator at `emulatorPort`. */
export async function startStsFront(
  emulatorPort: number,
  dir: string,
  options: StsFrontOptions = {},
): Promise<StsFront> {
  const ca = await TinyCa.create(dir, 'sts-ca');
  const leaf = await ca.issue({
    fileStem: 'sts',
    commonName: 'sts.test',
    usage: 'server',
    altNames: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  const seen: string[] = [];
  const oidcLog: OidcAnswer[] = [];
  let outage: StsOutage | undefined;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const action =
      req.headers['x-acs-action'] ?? new URL(req.url ?? '/', 'https://sts.test').searchParams.get('Action');
    seen.push(String(action ?? '(none)'));
    if (outage !== undefined) {
      const o = OUTAGES[outage];
      req.resume();
      sendStsJson(res, o.status, { Code: o.code, Message: o.message });
      return;
    }
    if (action === 'AssumeRoleWithOIDC' && options.oidc !== undefined) {
      answerOidc(req, res, options.oidc, oidcLog).catch(() => {
        if (!res.headersSent) sendStsJson(res, 500, { Code: 'InternalError', Message: 'stand-in failure' });
      });
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: emulatorPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const lifetime = options.sessionLifetimeMs;
        if (lifetime === undefined || action !== 'AssumeRole' || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = withLifetime(Buffer.concat(chunks), lifetime);
          const { 'content-length': _len, 'transfer-encoding': _te, ...headers } = answer.headers;
          res.writeHead(200, { ...headers, 'content-length': body.length });
          res.end(body);
        });
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };
  const server = options.plainHttp
    ? createHttpServer(handle)
    : createServer({ cert: await readFile(leaf.certPath), key: await readFile(leaf.keyPath) }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    endpoint: `localhost:${port}`,
    caPath: ca.certPath,
    requests: () => [...seen],
    oidcAnswers: () => oidcLog.map((a) => ({ ...a })),
    setOutage: (o) => {
      outage = o;
    },
    refuseConnections: stop,
    resume: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: stop,
  };
}
