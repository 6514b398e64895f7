// Typed errors for Kubernetes API outcomes the reconciler acts on. This file does not import client-node, so the
// reconciler can use these classes without depending on the Kubernetes client.

/**
 * A write lost an optimistic-concurrency race (HTTP 409, or a failed JSON Patch `test`): the object changed since
 * it was read. Re-read and recompute; the reconciler should turn this into a quick requeue, not an error status.
 */
export class ConflictError extends Error {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
    this.key = key;
  }
}

/** HTTP status of a client-node ApiException or Watch error, if any. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/** A short, secret-free description of an API error for logs and wrapped messages (never the response body). */
export function describeApiError(err: unknown): string {
  const status = httpStatusOf(err);
  const base = err instanceof Error ? err.name : typeof err;
  return status === undefined
    ? `${base}: ${err instanceof Error ? err.message : String(err)}`
    : `${base} HTTP ${status}`;
}
