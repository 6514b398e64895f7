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

export interface StsFrontOptions {
  /** Rewrites each AssumeRole answer's Credentials.Expiration to now + this (the emulator always grants >= 900 s). */
  sessionLifetimeMs?: number;
}

/** Expiration rewritten to now + ms, in STS's format (seconds, Z). */
function withLifetime(body: Buffer, ms: number): Buffer {
  const answer = JSON.parse(body.toString('utf8')) as { Credentials?: { Expiration?: string } };
  if (answer.Credentials === undefined) return body;
  answer.Credentials.Expiration = new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return Buffer.from(JSON.stringify(answer));
}

/** Serves HTTPS on a free loopback port, forwarding every request to the emulator at `emulatorPort`. */
export async function startStsFront(
  emulatorPort: number,
  dir: string,
  options: StsFrontOptions = {},
): Promise<StsFront> {
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
          const lifetime = options.sessionLifetimeMs;
          if (lifetime === undefined || action !== 'AssumeRole' || answer.statusCode !== 200) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const body = withLifetime(Buffer.concat(chunks), lifetime);
            const { 'content-length': _len, 'transfer-encoding': _te, ...headers } = answer.headers;
            res.writeHead(200, { ...headers, 'content-length': body.length });
            res.end(body);
          });
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
