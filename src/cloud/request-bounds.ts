// An overall deadline and a size cap for every HTTP request the SDK makes inside one call, without touching the SDK:
// the SDK (openapi-core → @darabonba/typescript → httpx) offers only a socket idle timeout, which an answer dripped
// one byte at a time never trips, and it buffers whole bodies. Node publishes every outgoing request on the
// `http.client.request.start` diagnostics channel, synchronously in the caller's async context, so a call scope kept
// in AsyncLocalStorage can find its own requests and destroy them (ADR 0023).
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface RequestBounds {
  /** The whole call (credentials, connect, headers, every body byte) ends within this many ms. */
  timeoutMs: number;
  /** No answer may be larger than this many bytes (headers included). */
  maxResponseBytes: number;
}

/** Default answer size cap: far above any answer the operator reads (a share page of 100 accounts is ~10 KiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export const RequestBoundCode = { Deadline: 'DeadlineExceeded', TooLarge: 'ResponseTooLarge' } as const;
export type RequestBoundCode = (typeof RequestBoundCode)[keyof typeof RequestBoundCode];

/** A call ended by its bounds. Recognised by name and code (ecs-errors.ts classifies it as transient). */
export class RequestBoundError extends Error {
  readonly code: RequestBoundCode;
  constructor(code: RequestBoundCode, message: string) {
    super(message);
    this.name = 'RequestBoundError';
    this.code = code;
  }
}

interface CallScope {
  readonly maxResponseBytes: number;
  readonly requests: Set<ClientRequest>;
  fail(err: RequestBoundError): void;
}

const scopes = new AsyncLocalStorage<CallScope>();
let watching = false;

function watchRequests(): void {
  if (watching) return;
  watching = true;
  diagnosticsChannel.subscribe('http.client.request.start', (message) => {
    const scope = scopes.getStore();
    const request = (message as { request?: ClientRequest }).request;
    if (scope === undefined || request === undefined) return;
    scope.requests.add(request);
    request.once('close', () => scope.requests.delete(request));
    request.once('response', (response: IncomingMessage) => capSize(scope, request, response));
  });
}

/** Fails the call as soon as the answer's declared length or the bytes read for it pass the cap. */
function capSize(scope: CallScope, request: ClientRequest, response: IncomingMessage): void {
  const tooLarge = () =>
    scope.fail(
      new RequestBoundError(RequestBoundCode.TooLarge, `the answer is larger than ${scope.maxResponseBytes} bytes`),
    );
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > scope.maxResponseBytes) {
    tooLarge();
    return;
  }
  const socket: Socket | null = request.socket;
  if (socket === null) return;
  const start = socket.bytesRead;
  const onData = () => {
    if (socket.bytesRead - start > scope.maxResponseBytes) tooLarge();
  };
  socket.on('data', onData);
  request.once('close', () => socket.off('data', onData));
}

/**
 * Runs `call` (SDK calls) under `bounds`: resolves or rejects as `call` does, unless the deadline passes or an
 * answer grows past the cap first; then rejects with RequestBoundError at once and destroys the call's requests, so
 * neither a worker nor a socket is held by an answer that never ends.
 */
export function withRequestBounds<T>(bounds: RequestBounds, call: () => Promise<T>): Promise<T> {
  watchRequests();
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
    };
    const scope: CallScope = {
      maxResponseBytes: bounds.maxResponseBytes,
      requests: new Set(),
      fail: (err) => {
        if (done) return;
        finish();
        reject(err);
        for (const r of scope.requests) r.destroy(err);
      },
    };
    const timer = setTimeout(
      () =>
        scope.fail(
          new RequestBoundError(RequestBoundCode.Deadline, `the call did not finish within ${bounds.timeoutMs} ms`),
        ),
      bounds.timeoutMs,
    );
    scopes.run(scope, call).then(
      (value) => {
        if (done) return;
        finish();
        resolve(value);
      },
      (err: unknown) => {
        if (done) return;
        finish();
        reject(err);
      },
    );
  });
}
