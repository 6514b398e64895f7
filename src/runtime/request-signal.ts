// The abort signal of the pass an apiserver request belongs to. The controller runs each pass inside it, and the
// Kubernetes client (kube/kubeconfig.ts) attaches it, with a timeout, to every request the pass makes, so no port
// signature has to carry it (the same async-context pattern as call-priority.ts).
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `fn` with `signal` as the signal of every apiserver request it makes. */
export function withRequestSignal<T>(signal: AbortSignal, fn: () => T): T {
  return current.run(signal, fn);
}

/** The signal a request made now must honour: the pass's (if any) and a timeout of `timeoutMs`. */
export function requestSignal(timeoutMs: number): AbortSignal {
  const pass = current.getStore();
  const timeout = AbortSignal.timeout(timeoutMs);
  return pass === undefined ? timeout : AbortSignal.any([pass, timeout]);
}
