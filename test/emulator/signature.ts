// Request authentication as ECS does it: ACS3-HMAC-SHA256 in the Authorization header (the SDK's default, reference
// §4.3) or the legacy HMAC-SHA1 RPC query signature (§4.4), then the key's state, the date window, nonce reuse, the
// STS token and the key's RAM allow-list. Canonicalisation re-implements the SDK's rules from the reference; the
// query is always decoded and re-encoded, never hashed as received.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ecsError } from './errors.ts';
import type { SeedKey } from './seed.ts';

/** The parts of an HTTP request that signatures cover. `query` holds decoded values; `headers` lowercase names. */
export interface IncomingSigned {
  method: string;
  pathname: string;
  query: Record<string, string>;
  headers: Record<string, string[]>;
  body: Buffer;
  /** Parameters from a form body; the RPC signature covers them too. */
  form: Record<string, string>;
}

/** The SDK's `encode`: encodeURIComponent plus ! ' ( ) * escaped. */
export function acsEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/!/g, '%21')
    .replace(/'/g, '%27')
    .replace(/\(/g, '%28')
    .replace(/\)/g, '%29')
    .replace(/\*/g, '%2A');
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${k}=${acsEncode(query[k] ?? '')}`)
    .join('&');
}

function canonicalHeaders(headers: Record<string, string[]>, names: string[]): string {
  return names
    .map(
      (n) =>
        `${n}:${(headers[n] ?? [])
          .map((v) => v.trim())
          .sort()
          .join(',')}\n`,
    )
    .join('');
}

export interface Acs3Authorization {
  algorithm: string;
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

const AUTH_RE = /^(\S+) Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$/;

/** Parses an ACS3 Authorization header; undefined when it is not of that shape. */
export function parseAuthorization(header: string | undefined): Acs3Authorization | undefined {
  const m = header === undefined ? null : AUTH_RE.exec(header);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  return { algorithm: m[1], accessKeyId: m[2], signedHeaders: m[3].split(';'), signature: m[4] };
}

/** The ACS3-HMAC-SHA256 signature of `req` over `signedHeaders`, keyed with the plain secret. */
export function acs3Signature(req: IncomingSigned, signedHeaders: string[], secret: string): string {
  const uri = req.pathname.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const canonical = [
    req.method,
    uri,
    canonicalQuery(req.query),
    canonicalHeaders(req.headers, signedHeaders),
    signedHeaders.join(';'),
    sha256Hex(req.body),
  ].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256Hex(canonical)}`;
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}

/** The legacy RPC signature: base64 HMAC-SHA1 keyed with `secret&` over every parameter except Signature. */
export function rpcSignature(params: Record<string, string>, method: string, secret: string): string {
  const canonical = Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${acsEncode(k)}=${acsEncode(params[k] ?? '')}`)
    .join('&');
  const stringToSign = `${method}&${acsEncode('/')}&${acsEncode(canonical)}`;
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Remembers nonces until they fall out of the date window (after which the date check rejects a replay anyway). */
export class NonceStore {
  private readonly seen = new Map<string, number>();

  /** Records `nonce`; false when it was already used within the window. */
  use(nonce: string, nowMs: number, ttlMs: number): boolean {
    for (const [n, expiry] of this.seen) if (expiry <= nowMs) this.seen.delete(n);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, nowMs + ttlMs);
    return true;
  }

  clear(): void {
    this.seen.clear();
  }
}

export interface AuthContext {
  findKey(accessKeyId: string): { key: SeedKey; ownerId: string } | undefined;
  /** The emulator's clock (real time plus the configured offset). */
  nowMs: number;
  skewSeconds: number;
  nonces: NonceStore;
}

export interface Principal {
  ownerId: string;
  accessKeyId: string;
}

/** The key ID a request names in either signature form (for the call log, even when authentication fails). */
export function claimedAccessKeyId(req: IncomingSigned): string | undefined {
  const auth = parseAuthorization(req.headers.authorization?.[0]);
  return auth?.accessKeyId ?? req.query.AccessKeyId;
}

const ACS_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

interface Claim {
  accessKeyId: string;
  verify(secret: string): boolean;
  date: string | undefined;
  nonce: string | undefined;
  token: string | undefined;
}

function acs3Claim(req: IncomingSigned, header: string): Claim {
  const auth = parseAuthorization(header);
  if (auth?.algorithm !== 'ACS3-HMAC-SHA256') throw ecsError('IncompleteSignature');
  const h = (n: string): string | undefined => req.headers[n]?.[0];
  const contentHash = h('x-acs-content-sha256');
  return {
    accessKeyId: auth.accessKeyId,
    verify: (secret) =>
      (contentHash === undefined || contentHash === sha256Hex(req.body)) &&
      same(acs3Signature(req, auth.signedHeaders, secret), auth.signature),
    date: h('x-acs-date'),
    nonce: h('x-acs-signature-nonce'),
    token: h('x-acs-security-token'),
  };
}

function rpcClaim(req: IncomingSigned): Claim {
  const q = req.query;
  if (!q.Signature || !q.AccessKeyId || q.SignatureMethod !== 'HMAC-SHA1') throw ecsError('IncompleteSignature');
  const signature = q.Signature;
  return {
    accessKeyId: q.AccessKeyId,
    verify: (secret) => same(rpcSignature({ ...q, ...req.form }, req.method, secret), signature),
    date: q.Timestamp,
    nonce: q.SignatureNonce,
    token: q.SecurityToken,
  };
}

function checkFreshness(claim: Claim, ctx: AuthContext): void {
  if (claim.date === undefined || !ACS_DATE.test(claim.date)) throw ecsError('InvalidTimeStamp.Format');
  const skewMs = ctx.skewSeconds * 1000;
  if (Math.abs(Date.parse(claim.date) - ctx.nowMs) > skewMs) throw ecsError('InvalidTimeStamp.Expired');
  if (claim.nonce === undefined || claim.nonce === '') throw ecsError('IncompleteSignature');
  if (!ctx.nonces.use(claim.nonce, ctx.nowMs, 2 * skewMs)) throw ecsError('SignatureNonceUsed');
}

function checkKeyState(key: SeedKey, claim: Claim, nowMs: number): void {
  if (key.disabled) throw ecsError('InvalidAccessKeyId.Inactive');
  if (key.securityToken !== undefined) {
    if (claim.token === undefined || !same(claim.token, key.securityToken)) {
      throw ecsError('InvalidSecurityToken.Malformed');
    }
    if (key.expired || (key.expiresAt !== undefined && nowMs >= Date.parse(key.expiresAt)))
      throw ecsError('InvalidSecurityToken.Expired');
  }
}

function checkRam(key: SeedKey, ownerId: string, action: string): void {
  if (key.allowedActions === undefined || key.allowedActions.includes(action)) return;
  throw ecsError('Forbidden.RAM', {
    extra: {
      AccessDeniedDetail: {
        PolicyType: 'AccountLevelIdentityBasedPolicy',
        AuthPrincipalOwnerId: ownerId,
        AuthPrincipalType: 'SubUser',
        AuthPrincipalDisplayName: 'emulator-ram-user',
        NoPermissionType: 'ImplicitDeny',
        AuthAction: `ecs:${action}`,
        EncodedDiagnosticMessage: '',
      },
    },
  });
}

/**
 * Authenticates one API request for `action`. Guarantees the returned principal holds a known, enabled key whose
 * secret produced the signature, with a fresh date, an unused nonce (now recorded), a matching STS token and RAM
 * permission for the action. Throws EcsApiError with the code ECS would answer otherwise.
 */
export function authenticate(req: IncomingSigned, action: string, ctx: AuthContext): Principal {
  const header = req.headers.authorization?.[0];
  const claim = header !== undefined ? acs3Claim(req, header) : rpcClaim(req);
  const found = ctx.findKey(claim.accessKeyId);
  if (!found) throw ecsError('InvalidAccessKeyId.NotFound');
  if (!claim.verify(found.key.accessKeySecret)) throw ecsError('SignatureDoesNotMatch');
  checkFreshness(claim, ctx);
  checkKeyState(found.key, claim, ctx.nowMs);
  checkRam(found.key, found.ownerId, action);
  return { ownerId: found.ownerId, accessKeyId: claim.accessKeyId };
}
