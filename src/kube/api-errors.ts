// Reading Kubernetes API failures by status code, without importing client-node.

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
