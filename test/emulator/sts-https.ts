// The STS stand-in over HTTPS: a TLS front for the emulator, which answers AssumeRole (world.ts) and checks the
// request's signature like any other action. Its certificate comes from a throwaway test CA (test/harness/tiny-ca.ts);
// a Node process trusts it through NODE_EXTRA_CA_CERTS=<caPath>, so the operator's SDK verifies it as it would the
// real sts.aliyuncs.com. The front counts requests, so a test can tell that STS was reached over TLS.
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TinyCa } from '../harness/tiny-ca.ts';

export interface StsFront {
  /** host:port for --sts-endpoint (with --sts-protocol https). */
  endpoint: string;
  /** The CA certificate file to trust (NODE_EXTRA_CA_CERTS). */
  caPath: string;
  /** Requests received over TLS, by the Action query parameter. */
  requests(): string[];
  close(): Promise<void>;
}

/** Serves HTTPS on a free loopback port, forwarding every request to the emulator at `emulatorPort`. */
export async function startStsFront(emulatorPort: number, dir: string): Promise<StsFront> {
  const ca = await TinyCa.create(dir, 'sts-ca');
  const leaf = await ca.issue({
    fileStem: 'sts',
    commonName: 'sts.test',
    usage: 'server',
    altNames: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  const seen: string[] = [];
  const server = createServer(
    { cert: await readFile(leaf.certPath), key: await readFile(leaf.keyPath) },
    (req, res) => {
      const action =
        req.headers['x-acs-action'] ?? new URL(req.url ?? '/', 'https://sts.test').searchParams.get('Action');
      seen.push(String(action ?? '(none)'));
      const upstream = request(
        { host: '127.0.0.1', port: emulatorPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `localhost:${port}`,
    caPath: ca.certPath,
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
