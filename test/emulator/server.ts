// The ECS emulator's HTTP face: the ECS RPC endpoint (`POST /`, ACS3-signed, what the unmodified SDK talks to) and
// the unsigned admin API under /_admin/ on the same port. node:http only. close() destroys every socket, including
// the ones a `hang` fault holds open, so test runners exit cleanly.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AdminClient, type ShareChange } from './admin-client.ts';
import { EcsApiError, ecsError } from './errors.ts';
import { type CallFacts, FaultRuleError, Faults, parseFaultRule, parseThrottle } from './faults.ts';
import { normalizeSeed, type Seed, SeedError, type SeedInput } from './seed.ts';
import { authenticate, claimedAccessKeyId, type IncomingSigned, NonceStore } from './signature.ts';
import { AdminNotFoundError, type Body, type Params, World } from './world.ts';

export const API_VERSION = '2014-05-26';

export interface Emulator {
  port: number;
  /** host:port, as the SDK's `endpoint` wants it (no scheme). */
  endpoint: string;
  /** http://host:port */
  url: string;
  admin: AdminClient;
  close(): Promise<void>;
}

export interface StartOptions {
  seed?: Seed | SeedInput;
  /** 0 or absent: any free port. */
  port?: number;
  host?: string;
  /** Real-time clock (epoch ms); tests may inject one. */
  clock?: () => number;
}

/** One API call as the admin call log reports it. `code` is `OK` for successes. */
export interface CallRecord {
  seq: number;
  /** The emulator's clock, ISO-8601. */
  at: string;
  action: string;
  accessKeyId: string | null;
  regionId: string | null;
  imageId: string | null;
  params: Params;
  status: number;
  code: string;
}

export interface CallLog {
  calls: CallRecord[];
  counts: {
    byAction: Record<string, number>;
    byCode: Record<string, number>;
    byActionAndCode: Record<string, Record<string, number>>;
  };
}

type Handler = (world: World, p: Params, caller: string) => Body;

const ACTIONS: Record<string, Handler> = {
  DescribeImages: (w, p, c) => w.describeImages(c, p),
  DescribeImageSharePermission: (w, p, c) => w.describeImageSharePermission(c, p),
  ModifyImageSharePermission: (w, p, c) => w.modifyImageSharePermission(c, p),
  ModifyImageAttribute: (w, p, c) => w.modifyImageAttribute(c, p),
  DeleteImage: (w, p, c) => w.deleteImage(c, p),
  TagResources: (w, p, c) => w.tagResources(c, p),
  UntagResources: (w, p, c) => w.untagResources(c, p),
  AssumeRole: (w, p, c) => w.assumeRole(c, p),
};

/** Actions of another product's API version (STS); everything else is ECS 2014-05-26. */
const ACTION_VERSIONS: Record<string, string> = { AssumeRole: '2015-04-01' };

/** Query keys of the legacy RPC signature; they are protocol, not action parameters. */
const RPC_PROTOCOL_KEYS = new Set([
  'Action',
  'Version',
  'Format',
  'Timestamp',
  'SignatureNonce',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureType',
  'AccessKeyId',
  'Signature',
  'SecurityToken',
]);

const CALL_LOG_LIMIT = 10_000;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The documented error body; Throttling carries `x-acs-retry-after` (ms) as the SDK reads it. */
function sendError(res: ServerResponse, err: EcsApiError, regionId: string | undefined): void {
  const { retryAfterMs, ...extra } = err.extra;
  const headers: Record<string, string> = {};
  if (typeof retryAfterMs === 'number') headers['x-acs-retry-after'] = String(retryAfterMs);
  const body = {
    RequestId: randomUUID().toUpperCase(),
    HostId: regionId ? `ecs.${regionId}.aliyuncs.com` : 'ecs.aliyuncs.com',
    Code: err.code,
    Message: err.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=Ecs`,
    ...extra,
  };
  sendJson(res, err.status, body, headers);
}

function lower(headers: IncomingMessage['headersDistinct']): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v) out[k.toLowerCase()] = v;
  return out;
}

/** The emulator instance: world, faults, nonces and call log behind one node:http server. */
class EmulatorServer {
  world: World;
  readonly faults: Faults;
  readonly nonces = new NonceStore();
  private calls: CallRecord[] = [];
  private seq = 0;
  private readonly clock: () => number;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly http = createServer((req, res) => {
    this.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });

  constructor(seed: Seed, clock: () => number) {
    this.clock = clock;
    this.world = new World(seed, clock);
    this.faults = new Faults(clock);
    this.http.keepAliveTimeout = 5_000;
    this.http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  reset(seed: Seed): void {
    this.world = new World(seed, this.clock);
    this.clearCalls();
    this.faults.clear();
    this.nonces.clear();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.http.closeAllConnections();
    await closed;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://emulator');
    if (url.pathname.startsWith('/_admin/')) return this.admin(req.method ?? 'GET', url.pathname, body, res);
    return this.api(req, url, body, res);
  }

  // ------------------------------------------------------------------ the ECS endpoint

  private async api(req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): Promise<void> {
    const query = Object.fromEntries(url.searchParams);
    const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const form = isForm ? Object.fromEntries(new URLSearchParams(raw.toString('utf8'))) : {};
    const signed: IncomingSigned = {
      method: req.method ?? 'POST',
      pathname: url.pathname,
      query,
      headers: lower(req.headersDistinct),
      body: raw,
      form,
    };
    const params: Params = {};
    for (const [k, v] of Object.entries({ ...query, ...form })) if (!RPC_PROTOCOL_KEYS.has(k)) params[k] = v;
    const action = signed.headers['x-acs-action']?.[0] ?? query.Action ?? '';
    const version = signed.headers['x-acs-version']?.[0] ?? query.Version ?? '';
    const facts = { action, accessKeyId: claimedAccessKeyId(signed), imageId: params.ImageId };
    const record = (status: number, code: string): void => this.log(facts, params, status, code);

    if (await this.transportFault(facts, req, res, record)) return;
    try {
      const reply = this.dispatch(signed, action, version, params);
      const holdMs = this.faults.slowReply(facts);
      if (holdMs > 0) await this.sleep(holdMs);
      if (this.faults.lostReply(facts)) {
        record(0, 'Fault.LostReply');
        req.socket.destroy();
        return;
      }
      const applied = this.faults.appliedError(facts);
      if (applied) throw new EcsApiError(applied.code, applied.status, applied.message);
      record(200, 'OK');
      const body = this.faults.malform(facts, { RequestId: randomUUID().toUpperCase(), ...reply });
      await this.deliver(facts, res, body);
    } catch (err: unknown) {
      if (!(err instanceof EcsApiError)) throw err;
      record(err.status, err.code);
      sendError(res, err, params.RegionId);
    }
  }

  /** Applies latency and the network-level faults; true when the call was consumed (no normal answer follows). */
  private async transportFault(
    facts: CallFacts,
    req: IncomingMessage,
    res: ServerResponse,
    record: (status: number, code: string) => void,
  ): Promise<boolean> {
    const transport = this.faults.transport(facts);
    if (transport.latencyMs > 0) await this.sleep(transport.latencyMs);
    switch (transport.kill) {
      case 'hang':
        record(0, 'Fault.Hang');
        return true;
      case 'reset':
        record(0, 'Fault.Reset');
        req.socket.destroy();
        return true;
      case 'html502': {
        record(502, 'Fault.Html502');
        const html = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';
        res.writeHead(502, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) });
        res.end(html);
        return true;
      }
      default:
        return false;
    }
  }

  /** Sends a 200 answer, dripped or padded when a delivery fault fires. */
  private async deliver(facts: CallFacts, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const how = this.faults.delivery(facts);
    if (how === undefined) {
      sendJson(res, 200, body);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
    const open = { closed: false };
    res.on('close', () => {
      open.closed = true;
    });
    if ('hugeBytes' in how) await padded(res, body, how.hugeBytes, open);
    else await this.drip(res, body, how.drip, open);
  }

  /** One byte every `ms`: the answer, or (forever) whitespace until the caller hangs up. */
  private async drip(
    res: ServerResponse,
    body: Record<string, unknown>,
    how: { ms: number; forever: boolean },
    open: { closed: boolean },
  ): Promise<void> {
    const text = JSON.stringify(body);
    for (let i = 0; !open.closed && (how.forever || i < text.length); i++) {
      res.write(how.forever ? ' ' : (text[i] ?? ''));
      await this.sleep(how.ms);
    }
    if (!open.closed) res.end();
  }

  /** Protocol checks, authentication, throttling and injected errors, then the action. Throws EcsApiError. */
  private dispatch(signed: IncomingSigned, action: string, version: string, params: Params): Body {
    if (version !== (ACTION_VERSIONS[action] ?? API_VERSION)) throw ecsError('InvalidVersion');
    const handler = ACTIONS[action];
    if (!handler) throw ecsError('InvalidAction.NotFound');
    const world = this.world;
    const principal = authenticate(signed, action, {
      findKey: (id) => world.findKey(id),
      nowMs: world.now(),
      skewSeconds: world.options.timestampSkewSeconds,
      nonces: this.nonces,
    });
    const retryAfterMs = this.faults.throttled(principal.ownerId, params.RegionId, action);
    if (retryAfterMs !== undefined) throw ecsError('Throttling.User', { extra: { retryAfterMs } });
    const call = { action, accessKeyId: principal.accessKeyId, imageId: params.ImageId };
    const injected = this.faults.error(call);
    if (injected) throw new EcsApiError(injected.code, injected.status, injected.message);
    const in200 = this.faults.errorIn200(call);
    if (in200 === undefined) return handler(world, params, principal.ownerId);
    if (in200.applied) handler(world, params, principal.ownerId);
    return { Code: in200.code, Message: `Injected fault: ${in200.code} in a 200 answer.` };
  }

  private log(facts: CallFacts, params: Params, status: number, code: string): void {
    this.seq += 1;
    this.calls.push({
      seq: this.seq,
      at: new Date(this.world.now()).toISOString(),
      action: facts.action,
      accessKeyId: facts.accessKeyId ?? null,
      regionId: params.RegionId ?? null,
      imageId: params.ImageId ?? null,
      params: { ...params },
      status,
      code,
    });
    if (this.calls.length > CALL_LOG_LIMIT) this.calls.splice(0, this.calls.length - CALL_LOG_LIMIT);
  }

  /** Empties the log; sequence numbers start again from 1. */
  clearCalls(): void {
    this.calls = [];
    this.seq = 0;
  }

  callLog(): CallLog {
    const counts: CallLog['counts'] = { byAction: {}, byCode: {}, byActionAndCode: {} };
    for (const c of this.calls) {
      counts.byAction[c.action] = (counts.byAction[c.action] ?? 0) + 1;
      counts.byCode[c.code] = (counts.byCode[c.code] ?? 0) + 1;
      const per = counts.byActionAndCode[c.action] ?? {};
      per[c.code] = (per[c.code] ?? 0) + 1;
      counts.byActionAndCode[c.action] = per;
    }
    return { calls: this.calls.map((c) => ({ ...c, params: { ...c.params } })), counts };
  }

  // ------------------------------------------------------------------ the admin API

  private admin(method: string, path: string, raw: Buffer, res: ServerResponse): void {
    const [status, body] = this.adminAnswer(method, path, raw);
    sendJson(res, status, body);
  }

  private adminAnswer(method: string, path: string, raw: Buffer): [number, unknown] {
    let input: unknown;
    try {
      input = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : {};
    } catch {
      return [400, { error: 'request body is not valid JSON' }];
    }
    try {
      const out = this.adminRoute(method, path.split('/').slice(2).map(decodeURIComponent), input);
      return out === undefined ? [404, { error: `no admin route ${method} ${path}` }] : [200, out];
    } catch (err: unknown) {
      if (err instanceof SeedError) return [400, { error: err.message, problems: err.problems }];
      if (err instanceof FaultRuleError) return [400, { error: err.message }];
      if (err instanceof AdminNotFoundError) return [404, { error: err.message }];
      throw err;
    }
  }

  /** Routes one admin request; undefined when no route matches. Throws SeedError/FaultRuleError/AdminNotFoundError. */
  private adminRoute(method: string, seg: string[], input: unknown): unknown {
    const route = `${method} ${seg[0] ?? ''}`;
    const w = this.world;
    const rec = input as Record<string, unknown>;
    switch (route) {
      case 'GET health':
        return { ok: true };
      case 'POST reset':
        this.reset(normalizeSeed(input));
        return { ok: true };
      case 'GET state':
        return redact(w.state());
      case 'PATCH options':
        return w.setOptions(input);
      case 'PATCH owners':
        return seg[1] ? redactOwner(w.patchOwner(seg[1], input)) : undefined;
      case 'POST owners':
        return seg[1] && seg[2] === 'keys' ? w.addKey(seg[1], input) : undefined;
      case 'GET calls':
        return this.callLog();
      case 'DELETE calls':
        this.clearCalls();
        return { ok: true };
      case 'GET faults':
        return { faults: this.faults.list(), throttle: this.faults.throttle };
      case 'POST faults':
        this.faults.add(parseFaultRule(input));
        return { faults: this.faults.list() };
      case 'DELETE faults':
        this.faults.clear();
        return { ok: true };
      case 'PUT throttle':
        this.faults.setThrottle(parseThrottle(input));
        return { throttle: this.faults.throttle };
      case 'DELETE throttle':
        this.faults.setThrottle({ qps: 0 });
        return { throttle: this.faults.throttle };
      case 'PUT random':
        if (typeof rec.seed !== 'number') throw new FaultRuleError('seed must be a number');
        this.faults.seed(rec.seed);
        return { ok: true };
      default:
        return seg[0] === 'images' ? this.imageRoute(method, seg, input) : undefined;
    }
  }

  private imageRoute(method: string, seg: string[], input: unknown): unknown {
    const [, region, imageId, sub] = seg;
    if (region === undefined && method === 'POST') return this.world.addImage(input);
    if (region === undefined || imageId === undefined) return undefined;
    if (sub === undefined && method === 'DELETE') {
      this.world.removeImage(region, imageId);
      return { ok: true };
    }
    if (sub === undefined && method === 'GET') return this.world.image(region, imageId);
    if (sub === undefined && method === 'PATCH') return this.world.patchImage(region, imageId, input);
    if (sub === 'shares' && method === 'POST') return this.world.share(region, imageId, shareChange(input));
    return undefined;
  }
}

/** Validates the body of POST /_admin/images/:region/:id/shares. Throws SeedError. */
function shareChange(input: unknown): ShareChange {
  const o = (input ?? {}) as { add?: unknown; remove?: unknown };
  if ((o.add !== undefined && !Array.isArray(o.add)) || (o.remove !== undefined && !Array.isArray(o.remove))) {
    throw new SeedError(['add and remove must be lists of account IDs']);
  }
  const change: ShareChange = {};
  if (Array.isArray(o.add)) change.add = o.add as ShareChange['add'] & unknown[];
  if (Array.isArray(o.remove)) change.remove = o.remove.map(String);
  return change;
}

/** The answer with a `Padding` string of about `bytes`, streamed in 64 KiB chunks (chunked, no content-length). */
async function padded(
  res: ServerResponse,
  body: Record<string, unknown>,
  bytes: number,
  open: { closed: boolean },
): Promise<void> {
  const text = JSON.stringify({ ...body, Padding: '' });
  const chunk = 'x'.repeat(64 * 1024);
  res.write(text.slice(0, -2)); // up to the Padding string's opening quote
  for (let sent = 0; sent < bytes && !open.closed; sent += chunk.length) {
    if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
  }
  if (!open.closed) res.end('"}');
}

const REDACTED = '<redacted>';

function redactOwner(o: Seed['owners'][number]): Seed['owners'][number] {
  return {
    ...o,
    keys: o.keys.map((k) => ({
      ...k,
      accessKeySecret: REDACTED,
      ...(k.securityToken === undefined ? {} : { securityToken: REDACTED }),
    })),
  };
}

/** The admin state never echoes secrets: callers already know the seed they posted. */
function redact(seed: Seed): Seed {
  return { ...seed, owners: seed.owners.map(redactOwner) };
}

/**
 * Starts an emulator on `host:port` (default 127.0.0.1, any free port) with `seed` (default: an empty world).
 * Resolves once listening. Throws SeedError for an invalid seed and rejects when the port cannot be bound.
 */
export async function startEmulator(opts: StartOptions = {}): Promise<Emulator> {
  const seed = normalizeSeed(opts.seed ?? {});
  const server = new EmulatorServer(seed, opts.clock ?? Date.now);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.http.once('error', reject);
    server.http.listen(opts.port ?? 0, host, () => {
      server.http.off('error', reject);
      resolve();
    });
  });
  const { port } = server.http.address() as AddressInfo;
  const endpoint = `${host}:${port}`;
  const url = `http://${endpoint}`;
  return { port, endpoint, url, admin: new AdminClient(url), close: () => server.close() };
}
