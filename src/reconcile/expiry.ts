// Shares that expire (docs/adr/0032): which accounts a spec asks for at a given moment. A pass works on the spec as
// of its start, with spec.accounts widened by the expiringAccounts still in force, so planning, ownership and status
// need no clock of their own: an expired entry is simply no longer wanted, and what this object granted is revoked.
import type { ExpiringAccount, ImageShare, ImageShareSpec } from '../api/types.ts';

/** The object as a pass sees it at `now`: spec.accounts plus the expiringAccounts whose expiresAt is later. */
export function asOf(obj: ImageShare, now: Date): ImageShare {
  const live = inForce(obj.spec, now);
  if (live.length === 0) return obj;
  return { ...obj, spec: { ...obj.spec, accounts: [...(obj.spec.accounts ?? []), ...live.map((e) => e.id)] } };
}

/** expiringAccounts entries still in force at `now`. An unparseable time counts as expired (never granted). */
export function inForce(spec: Pick<ImageShareSpec, 'expiringAccounts'>, now: Date): ExpiringAccount[] {
  return (spec.expiringAccounts ?? []).filter((e) => Date.parse(e.expiresAt) > now.getTime());
}

/** Milliseconds until the next entry in force expires; undefined when none is. */
export function nextExpiryMs(spec: Pick<ImageShareSpec, 'expiringAccounts'>, now: Date): number | undefined {
  const left = inForce(spec, now).map((e) => Date.parse(e.expiresAt) - now.getTime());
  return left.length === 0 ? undefined : Math.min(...left);
}

/**
 * The expiringAccounts entries a pass working on `asOf(obj, now)` no longer wants: those whose ID the widened
 * spec.accounts does not carry (the CRD forbids an ID in both lists).
 */
export function expiredIn(spec: ImageShareSpec): ExpiringAccount[] {
  const wanted = new Set(spec.accounts ?? []);
  return (spec.expiringAccounts ?? []).filter((e) => !wanted.has(e.id));
}
