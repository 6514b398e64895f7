// The STS stand-in's AssumeRoleWithOIDC check, as RAM does it for RRSA: the OIDC provider named in the request must be
// registered, the token must be an RS256 JWT whose signature one of that provider's keys (its JWKS) verifies, with
// the provider's issuer, one of its audiences (client IDs) and an unexpired `exp`; the role must exist and its trust
// policy must name the provider (and, when it says so, the token's subject). Refusals carry STS's documented codes
// (HTTP 401 AuthenticationFail.*, 404 EntityNotExist.Role). Pure functions of the token, the trust and the clock.
import { createPublicKey, createSign, createVerify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** An OIDC provider registered in RAM: its ARN, the issuer URL and the keys it signs with (its JWKS). */
export interface OidcProvider {
  arn: string;
  issuer: string;
  /** The client IDs RAM accepts as `aud` (RRSA: sts.aliyuncs.com). */
  audiences: readonly string[];
  jwks: { keys: readonly JsonWebKey[] };
}

/** A RAM role that trusts OIDC providers; `account` owns it (the sessions it hands out are that account's). */
export interface OidcRole {
  arn: string;
  account: string;
  trustedProviders: readonly string[];
  /** When set, the token's `sub` must be one of these (RRSA: system:serviceaccount:<namespace>:<name>). */
  subjects?: readonly string[];
}

/** A refusal as STS answers it. */
export interface StsRefusal {
  status: number;
  code: string;
  message: string;
}

export interface OidcGrant {
  role: OidcRole;
  provider: OidcProvider;
  subject: string;
}

const refuse = (status: number, code: string, message: string): StsRefusal => ({ status, code, message });
const invalid = (message: string) => refuse(401, 'AuthenticationFail.OIDCToken.Invalid', message);

interface Jwt {
  header: { alg?: unknown; kid?: unknown };
  claims: { iss?: unknown; aud?: unknown; exp?: unknown; nbf?: unknown; sub?: unknown };
  signedPart: string;
  signature: Buffer;
}

function decodePart(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** The token's parts, or a refusal when it is not a JWT. */
function parseJwt(token: string): Jwt | StsRefusal {
  if (token === '') return invalid('The OIDCToken can not empty.');
  const parts = token.split('.');
  if (parts.length !== 3) return invalid("The number of Jwt field should be divided into 3 parts with '.' .");
  const [h, c, sig] = parts as [string, string, string];
  try {
    const header = decodePart(h) as Jwt['header'];
    const claims = decodePart(c) as Jwt['claims'];
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null)
      return invalid('The Jwt content is invalid that cannot be recognized.');
    return { header, claims, signedPart: `${h}.${c}`, signature: Buffer.from(sig, 'base64url') };
  } catch {
    return invalid('Cannot decode base64 encoded response(format invalided).');
  }
}

function keysOf(provider: OidcProvider, kid: unknown): KeyObject[] {
  return provider.jwks.keys
    .filter((k) => kid === undefined || (k as { kid?: unknown }).kid === kid)
    .map((k) => createPublicKey({ key: k, format: 'jwk' }));
}

function signatureOk(jwt: Jwt, provider: OidcProvider): boolean {
  return keysOf(provider, jwt.header.kid).some((key) =>
    createVerify('RSA-SHA256').update(jwt.signedPart).verify(key, jwt.signature),
  );
}

function audienceOk(aud: unknown, provider: OidcProvider): boolean {
  const list = Array.isArray(aud) ? aud : [aud];
  return list.some((a) => typeof a === 'string' && provider.audiences.includes(a));
}

/** Checks the token against the provider; the token's subject when it is good. */
function checkToken(token: string, provider: OidcProvider, nowMs: number): string | StsRefusal {
  const jwt = parseJwt(token);
  if ('code' in jwt) return jwt;
  if (jwt.header.alg !== 'RS256')
    return invalid(`The algorithm ${String(jwt.header.alg)} that be specified in Jwt header is unknown.`);
  if (!signatureOk(jwt, provider))
    return refuse(
      401,
      'AuthenticationFail.OIDCToken.InvalidSignature',
      'OIDC token validate failed: invalid signature.',
    );
  if (jwt.claims.iss !== provider.issuer) return invalid('The Jwt content is invalid that cannot be recognized.');
  if (!audienceOk(jwt.claims.aud, provider))
    return refuse(401, 'AuthenticationFail.OIDCToken.AudienceNotMatch', 'Invalid audience.');
  const exp = jwt.claims.exp;
  if (typeof exp !== 'number' || exp * 1000 <= nowMs)
    return refuse(401, 'AuthenticationFail.OIDCToken.Expired', 'This JsonWebToken is expired.');
  return typeof jwt.claims.sub === 'string' ? jwt.claims.sub : '';
}

/**
 * Decides one AssumeRoleWithOIDC request: the grant, or STS's refusal. Checks the provider, then the token, then the
 * role and its trust, in the order STS reports them. Never throws.
 */
export function decideOidc(
  request: { roleArn: string; providerArn: string; token: string },
  trust: { providers: readonly OidcProvider[]; roles: readonly OidcRole[] },
  nowMs: number,
): OidcGrant | StsRefusal {
  const provider = trust.providers.find((p) => p.arn === request.providerArn);
  if (provider === undefined)
    return refuse(401, 'AuthenticationFail.NoPermission', 'No such OIDC Provider registered.');
  const subject = checkToken(request.token, provider, nowMs);
  if (typeof subject !== 'string') return subject;
  const role = trust.roles.find((r) => r.arn === request.roleArn);
  if (role === undefined) return refuse(404, 'EntityNotExist.Role', 'The role not exists.');
  const trusted =
    role.trustedProviders.includes(provider.arn) && (role.subjects === undefined || role.subjects.includes(subject));
  if (!trusted) return refuse(401, 'AuthenticationFail.NoPermission', 'There is no permission');
  return { role, provider, subject };
}

/** Signs `claims` as an RS256 JWT with `privateKeyPem` (tests craft tokens with it: expired, foreign keys). */
export function signJwt(claims: Record<string, unknown>, privateKeyPem: string, kid?: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...(kid === undefined ? {} : { kid }) }));
  const body = Buffer.from(JSON.stringify(claims));
  const signed = `${header.toString('base64url')}.${body.toString('base64url')}`;
  const signature = createSign('RSA-SHA256').update(signed).sign(privateKeyPem);
  return `${signed}.${signature.toString('base64url')}`;
}

/** A JWT's header and claims, unverified (tests read a real ServiceAccount token's kid and claims). */
export function readJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h = '', c = ''] = token.split('.');
  return {
    header: decodePart(h) as Record<string, unknown>,
    claims: decodePart(c) as Record<string, unknown>,
  };
}
