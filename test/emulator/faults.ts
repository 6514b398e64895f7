// Fault injection: rules that make the next calls fail in the ways a real network and a real ECS do (error codes,
// an HTML proxy page, a reset socket, a hang, added latency) plus per-(owner, region, action) throttling. Rates
// draw from a seeded PRNG so a test gets the same sequence on every run.
import { documentedStatus } from './errors.ts';

export const FAULT_TYPES = [
  'error',
  'html502',
  'reset',
  'hang',
  'latency',
  'malformed',
  'lostReply',
  'slowReply',
  'drip',
  'hugeBody',
  'errorIn200',
  'appliedError',
] as const;

/**
 * Ways a 200 answer can be wrong (as a misbehaving gateway or a buggy stand-in answers): the list missing, null or
 * empty against a non-zero TotalCount, an error code inside a 200 body, account IDs that are not account IDs, and
 * one page listing far more than PageSize accounts.
 */
export const MALFORMED_VARIANTS = [
  'accountsMissing',
  'accountsNull',
  'accountsEmpty',
  'errorInBody',
  'badAccountId',
  'longAccountId',
  'hugePage',
  'imagesMissing',
] as const;
export type MalformedVariant = (typeof MALFORMED_VARIANTS)[number];
export type FaultType = (typeof FAULT_TYPES)[number];

/** Which calls a rule applies to; an absent field matches everything. */
export interface FaultFilter {
  action?: string;
  accessKeyId?: string;
  imageId?: string;
}

interface Budget {
  /** Fire at most this many times, then the rule is dropped. Absent: until cleared. */
  times?: number;
  /** Probability of firing on a matching call (0..1). Absent: always. */
  rate?: number;
}

export type FaultRule = FaultFilter &
  Budget &
  (
    | { type: 'error'; code: string; httpStatus?: number; message?: string }
    | { type: 'html502' }
    | { type: 'reset' }
    | { type: 'hang' }
    | { type: 'latency'; ms: number }
    | { type: 'malformed'; variant: MalformedVariant }
    /** The call is applied, then the connection is reset before the answer (a timeout after ECS accepted it). */
    | { type: 'lostReply' }
    /** The call is applied at once, but its answer is held back `ms` (a window in which to kill the caller). */
    | { type: 'slowReply'; ms: number }
    /**
     * The call is applied; its answer is sent one byte every `ms` (headers at once). `forever`: whitespace that never
     * ends instead of the answer (a gateway that trickles, holding the caller until it gives up).
     */
    | { type: 'drip'; ms: number; forever?: boolean }
    /** The call is applied; its 200 answer is padded to about `bytes` (valid JSON, chunked, no content-length). */
    | { type: 'hugeBody'; bytes: number }
    /**
     * A 200 whose body carries an error code instead of the answer (a misbehaving gateway or ECS). `applied`: the
     * call took effect anyway; default false (a revoke answered 200 that did not happen).
     */
    | { type: 'errorIn200'; code: string; applied?: boolean }
    /**
     * The call is applied, then answered with the error `code` (default status from the table): ECS saw it, the
     * answer says otherwise, as `SignatureNonceUsed` does for a request that reached ECS twice.
     */
    | { type: 'appliedError'; code: string; httpStatus?: number }
  );

export interface ThrottleConfig {
  /** Calls per second allowed per (owner account, region, action); 0 turns throttling off. Fractions are fine. */
  qps: number;
  /** Bucket size; default max(1, qps). */
  burst?: number;
  /** Fixed `x-acs-retry-after` in ms; default: the time until the next token. */
  retryAfterMs?: number;
}

/** Thrown when a fault rule or throttle config is malformed (the admin API answers 400). */
export class FaultRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultRuleError';
  }
}

type Rec = Record<string, unknown>;

function optNumber(o: Rec, key: string, min: number, max = Number.POSITIVE_INFINITY): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new FaultRuleError(`${key} must be a number in [${min}, ${max}]`);
  }
  return v;
}

function optString(o: Rec, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new FaultRuleError(`${key} must be a non-empty string`);
  return v;
}

function copyCommon(o: Rec, rule: FaultFilter & Budget): void {
  for (const k of ['action', 'accessKeyId', 'imageId'] as const) {
    const v = optString(o, k);
    if (v !== undefined) rule[k] = v;
  }
  const times = optNumber(o, 'times', 1);
  if (times !== undefined) rule.times = Math.floor(times);
  const rate = optNumber(o, 'rate', 0, 1);
  if (rate !== undefined) rule.rate = rate;
}

/** Validates a rule as posted to /_admin/faults. Throws FaultRuleError naming the bad field. */
export function parseFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultRuleError('a fault rule must be a JSON object');
  }
  const o = input as Rec;
  let rule: FaultRule;
  switch (o.type) {
    case 'error': {
      const code = optString(o, 'code');
      if (code === undefined) throw new FaultRuleError('an error fault needs a code');
      rule = { type: 'error', code };
      const httpStatus = optNumber(o, 'httpStatus', 400, 599);
      if (httpStatus !== undefined) rule.httpStatus = httpStatus;
      const message = optString(o, 'message');
      if (message !== undefined) rule.message = message;
      break;
    }
    case 'latency': {
      const ms = optNumber(o, 'ms', 0);
      if (ms === undefined) throw new FaultRuleError('a latency fault needs ms');
      rule = { type: 'latency', ms };
      break;
    }
    case 'html502':
    case 'reset':
    case 'hang':
    case 'lostReply':
      rule = { type: o.type };
      break;
    case 'slowReply': {
      const ms = optNumber(o, 'ms', 0);
      if (ms === undefined) throw new FaultRuleError('a slowReply fault needs ms');
      rule = { type: 'slowReply', ms };
      break;
    }
    case 'drip':
    case 'hugeBody':
    case 'errorIn200':
    case 'appliedError':
      rule = parseAnswerFault(o);
      break;
    case 'malformed': {
      const variant = optString(o, 'variant');
      if (!MALFORMED_VARIANTS.includes(variant as MalformedVariant))
        throw new FaultRuleError(`variant must be one of ${MALFORMED_VARIANTS.join(', ')}`);
      rule = { type: 'malformed', variant: variant as MalformedVariant };
      break;
    }
    default:
      throw new FaultRuleError(`type must be one of ${FAULT_TYPES.join(', ')}`);
  }
  copyCommon(o, rule);
  return rule;
}

/** The faults that change how an applied call is answered (drip, hugeBody, errorIn200, appliedError). */
function parseAnswerFault(o: Rec): FaultRule {
  switch (o.type) {
    case 'drip': {
      const ms = optNumber(o, 'ms', 1);
      if (ms === undefined) throw new FaultRuleError('a drip fault needs ms (between bytes)');
      return o.forever === true ? { type: 'drip', ms, forever: true } : { type: 'drip', ms };
    }
    case 'hugeBody': {
      const bytes = optNumber(o, 'bytes', 1, 1_000_000_000);
      if (bytes === undefined) throw new FaultRuleError('a hugeBody fault needs bytes');
      return { type: 'hugeBody', bytes: Math.floor(bytes) };
    }
    default:
      return parseCodedFault(o);
  }
}

/** errorIn200 and appliedError: an ECS code plus their option. */
function parseCodedFault(o: Rec): FaultRule {
  const code = optString(o, 'code');
  if (code === undefined) throw new FaultRuleError(`an ${String(o.type)} fault needs a code`);
  if (o.type === 'errorIn200')
    return o.applied === true ? { type: 'errorIn200', code, applied: true } : { type: 'errorIn200', code };
  const httpStatus = optNumber(o, 'httpStatus', 400, 599);
  return httpStatus === undefined ? { type: 'appliedError', code } : { type: 'appliedError', code, httpStatus };
}

/** Validates a throttle config. Throws FaultRuleError. */
export function parseThrottle(input: unknown): ThrottleConfig {
  const o = (typeof input === 'object' && input !== null ? input : {}) as Rec;
  const qps = optNumber(o, 'qps', 0);
  if (qps === undefined) throw new FaultRuleError('throttle needs qps (0 turns it off)');
  const cfg: ThrottleConfig = { qps };
  const burst = optNumber(o, 'burst', 1);
  if (burst !== undefined) cfg.burst = burst;
  const retryAfterMs = optNumber(o, 'retryAfterMs', 0);
  if (retryAfterMs !== undefined) cfg.retryAfterMs = Math.round(retryAfterMs);
  return cfg;
}

/** mulberry32: a tiny deterministic PRNG, good enough for fault rates. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CallFacts {
  action: string;
  accessKeyId: string | undefined;
  imageId: string | undefined;
}

/** What the transport-level faults decided for one call. */
export interface TransportDecision {
  latencyMs: number;
  /** The first firing html502/reset/hang rule, if any. */
  kill: 'html502' | 'reset' | 'hang' | undefined;
}

export interface InjectedError {
  code: string;
  status: number;
  message: string;
}

/** The active fault rules, the PRNG and the throttle buckets. Time comes from the injected clock. */
export class Faults {
  private rules: Array<{ rule: FaultRule; fired: number }> = [];
  private random: () => number = prng(1);
  private throttleCfg: ThrottleConfig = { qps: 0 };
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  add(rule: FaultRule): void {
    this.rules.push({ rule, fired: 0 });
  }

  list(): FaultRule[] {
    return this.rules.map((r) => r.rule);
  }

  /** Drops every rule and the throttle, and reseeds the PRNG with 1. */
  clear(): void {
    this.rules = [];
    this.random = prng(1);
    this.setThrottle({ qps: 0 });
  }

  seed(seed: number): void {
    this.random = prng(seed);
  }

  setThrottle(cfg: ThrottleConfig): void {
    this.throttleCfg = cfg;
    this.buckets.clear();
  }

  get throttle(): ThrottleConfig {
    return this.throttleCfg;
  }

  /** Decides, consuming budgets, whether each matching rule of `types` fires for this call. */
  private firing(call: CallFacts, types: readonly FaultType[]): FaultRule[] {
    const out: FaultRule[] = [];
    for (const r of this.rules) {
      const { rule } = r;
      if (!types.includes(rule.type) || !matches(rule, call)) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      r.fired += 1;
      out.push(rule);
    }
    this.rules = this.rules.filter((r) => r.rule.times === undefined || r.fired < r.rule.times);
    return out;
  }

  /** Transport faults for a call: summed latency and the first html502/reset/hang that fires. */
  transport(call: CallFacts): TransportDecision {
    const fired = this.firing(call, ['latency', 'html502', 'reset', 'hang']);
    let latencyMs = 0;
    let kill: TransportDecision['kill'];
    for (const f of fired) {
      if (f.type === 'latency') latencyMs += f.ms;
      else if (kill === undefined && (f.type === 'html502' || f.type === 'reset' || f.type === 'hang')) kill = f.type;
    }
    return { latencyMs, kill };
  }

  /** The first error fault firing for an authenticated call, if any. */
  error(call: CallFacts): InjectedError | undefined {
    const [f] = this.firing(call, ['error']);
    if (f?.type !== 'error') return undefined;
    return {
      code: f.code,
      status: f.httpStatus ?? documentedStatus(f.code) ?? 400,
      message: f.message ?? `Injected fault: ${f.code}.`,
    };
  }

  /** Whether a lostReply rule fires for this (successful) call. */
  lostReply(call: CallFacts): boolean {
    return this.firing(call, ['lostReply']).length > 0;
  }

  /** How long to hold back the answer of a call that was applied (summed slowReply rules), in ms. */
  slowReply(call: CallFacts): number {
    return this.firing(call, ['slowReply']).reduce((ms, f) => ms + (f.type === 'slowReply' ? f.ms : 0), 0);
  }

  /** The first errorIn200 rule firing for this call, if any. */
  errorIn200(call: CallFacts): { code: string; applied: boolean } | undefined {
    const [f] = this.firing(call, ['errorIn200']);
    return f?.type === 'errorIn200' ? { code: f.code, applied: f.applied === true } : undefined;
  }

  /** The first appliedError rule firing for this (applied) call, as the error to answer with. */
  appliedError(call: CallFacts): InjectedError | undefined {
    const [f] = this.firing(call, ['appliedError']);
    if (f?.type !== 'appliedError') return undefined;
    return {
      code: f.code,
      status: f.httpStatus ?? documentedStatus(f.code) ?? 400,
      message: `Injected fault after the call was applied: ${f.code}.`,
    };
  }

  /** How the answer of an applied call is delivered: dripped, padded past a size, or normally (undefined). */
  delivery(call: CallFacts): { drip: { ms: number; forever: boolean } } | { hugeBytes: number } | undefined {
    const [f] = this.firing(call, ['drip', 'hugeBody']);
    if (f?.type === 'drip') return { drip: { ms: f.ms, forever: f.forever === true } };
    if (f?.type === 'hugeBody') return { hugeBytes: f.bytes };
    return undefined;
  }

  /** The body of a successful answer, rewritten by the first malformed rule that fires (else unchanged). */
  malform(call: CallFacts, body: Record<string, unknown>): Record<string, unknown> {
    const [f] = this.firing(call, ['malformed']);
    return f?.type === 'malformed' ? malformed(f.variant, body) : body;
  }

  /** Token bucket per (owner, region, action). Returns the retry-after in ms when the call is throttled. */
  throttled(ownerId: string, regionId: string | undefined, action: string): number | undefined {
    const { qps, burst, retryAfterMs } = this.throttleCfg;
    if (qps <= 0) return undefined;
    const capacity = burst ?? Math.max(1, qps);
    const key = `${ownerId}|${regionId ?? ''}|${action}`;
    const now = this.clock();
    const b = this.buckets.get(key) ?? { tokens: capacity, last: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.last) / 1000) * qps);
    b.last = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return retryAfterMs ?? Math.max(1, Math.ceil(((1 - b.tokens) / qps) * 1000));
  }
}

function matches(rule: FaultFilter, call: CallFacts): boolean {
  return (
    (rule.action === undefined || rule.action === call.action) &&
    (rule.accessKeyId === undefined || rule.accessKeyId === call.accessKeyId) &&
    (rule.imageId === undefined || rule.imageId === call.imageId)
  );
}

function malformed(variant: MalformedVariant, body: Record<string, unknown>): Record<string, unknown> {
  const total = typeof body.TotalCount === 'number' && body.TotalCount > 0 ? body.TotalCount : 3;
  switch (variant) {
    case 'accountsMissing': {
      const { Accounts: _dropped, ...rest } = body;
      return { ...rest, TotalCount: total };
    }
    case 'accountsNull':
      return { ...body, TotalCount: total, Accounts: null };
    case 'accountsEmpty':
      return { ...body, TotalCount: total, Accounts: { Account: [] } };
    case 'errorInBody':
      return {
        RequestId: body.RequestId,
        Code: 'Throttling.User',
        Message: 'Request was denied due to user flow control.',
      };
    case 'badAccountId':
      return {
        ...body,
        TotalCount: 2,
        Accounts: { Account: [{ AliyunId: '../../etc/passwd' }, { AliyunId: '1,2,3' }] },
      };
    case 'longAccountId':
      return { ...body, TotalCount: 1, Accounts: { Account: [{ AliyunId: '9'.repeat(80) }] } };
    case 'hugePage':
      return {
        ...body,
        TotalCount: 5000,
        Accounts: { Account: Array.from({ length: 5000 }, (_, i) => ({ AliyunId: String(5000000000000000 + i) })) },
      };
    case 'imagesMissing': {
      const { Images: _dropped, TotalCount: _count, ...rest } = body;
      return { ...rest, Code: 'Throttling.User' };
    }
  }
}
