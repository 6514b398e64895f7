// A TCP relay in front of the test apiserver: counts the connections clients open through it (each is one TCP + TLS
// handshake with the apiserver) and can simulate an apiserver outage (every connection cut, new ones refused).
// The apiserver's serving certificate names 127.0.0.1, so TLS verification still holds through the relay.
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

export interface CountingRelay {
  /** `https://127.0.0.1:<relay port>` */
  url: string;
  /** Connections accepted so far (refused ones during an outage not counted). */
  accepted(): number;
  /** Bytes the apiserver sent through the relay so far (TLS records: a bound on what the client received). */
  received(): number;
  /** Cuts every open connection and refuses new ones until `restore()`. */
  outage(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Starts a relay to `target` (the apiserver's https URL) on a free loopback port. */
export async function countingRelay(target: string): Promise<CountingRelay> {
  const upstreamUrl = new URL(target);
  let accepted = 0;
  let received = 0;
  let down = false;
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = createConnection({ host: upstreamUrl.hostname, port: Number(upstreamUrl.port) });
    track(client);
    track(upstream);
    upstream.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay has no port');
  const cutAll = (): void => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    url: `https://127.0.0.1:${address.port}`,
    accepted: () => accepted,
    received: () => received,
    outage: () => {
      down = true;
      cutAll();
    },
    restore: () => {
      down = false;
    },
    close: async () => {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A copy of `kc` (built by `make`, e.g. a PooledKubeConfig) whose clusters point at `server`. */
export function through<T extends KubeConfig>(kc: KubeConfig, server: string, make: () => T): T {
  const out = make();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}
