// A throwaway certificate authority for the test control plane, made with the `openssl` CLI (as envtest's TinyCA
// does in Go): ECDSA P-256 keys, certificates valid for 7 days, nothing ever leaves the temp dir it is created in.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const VALID_DAYS = '7';

export interface KeyPairFiles {
  certPath: string;
  keyPath: string;
}

export interface LeafRequest {
  /** File name stem inside the CA's directory: `<name>.crt` / `<name>.key`. */
  fileStem: string;
  commonName: string;
  /** One O= entry each; Kubernetes reads them as the user's groups. */
  organizations?: readonly string[];
  usage: 'server' | 'client';
  /** Subject alternative names for a server certificate, e.g. `IP:127.0.0.1`, `DNS:localhost`. */
  altNames?: readonly string[];
}

/** Runs openssl; throws an Error carrying openssl's stderr when it fails. */
async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err: unknown) {
    const stderr = typeof err === 'object' && err !== null && 'stderr' in err ? String(err.stderr) : '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim()}`, { cause: err });
  }
}

/** Escapes a value for openssl's `/K=V/K=V` subject syntax. */
function subjectValue(value: string): string {
  return value.replace(/[\\/+=]/g, (c) => `\\${c}`);
}

function subject(commonName: string, organizations: readonly string[] = []): string {
  return `${organizations.map((o) => `/O=${subjectValue(o)}`).join('')}/CN=${subjectValue(commonName)}`;
}

const REQ_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
`;

function leafExtensions(req: LeafRequest): string {
  const lines = [
    '[leaf]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage = ${req.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    'authorityKeyIdentifier = keyid',
  ];
  if (req.altNames !== undefined && req.altNames.length > 0) lines.push(`subjectAltName = ${req.altNames.join(',')}`);
  return `${lines.join('\n')}\n`;
}

/** A positive random 63-bit serial, so concurrently issued certificates never collide. */
function randomSerial(): string {
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

/**
 * A CA whose files live in `dir`. `issue` signs leaf certificates with it. Throws when openssl is missing or fails.
 */
export class TinyCa {
  readonly dir: string;
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;

  private constructor(dir: string, name: string) {
    this.dir = dir;
    this.name = name;
    this.certPath = join(dir, `${name}.crt`);
    this.keyPath = join(dir, `${name}.key`);
  }

  /** Creates a self-signed CA certificate and key as `<dir>/<name>.crt|.key`. */
  static async create(dir: string, name: string): Promise<TinyCa> {
    const ca = new TinyCa(dir, name);
    const config = join(dir, `${name}.cnf`);
    await writeFile(config, REQ_CONFIG);
    await openssl([
      'req',
      '-x509',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      ca.keyPath,
      '-out',
      ca.certPath,
      '-days',
      VALID_DAYS,
      '-subj',
      subject(name, ['imageshare-operator-test']),
      '-config',
      config,
      '-extensions',
      'ca',
    ]);
    return ca;
  }

  /** A CA that `create` made earlier in `dir` (for example in another process of the same test run). */
  static open(dir: string, name: string): TinyCa {
    return new TinyCa(dir, name);
  }

  /** Issues a leaf certificate signed by this CA; returns the PEM file paths. */
  async issue(req: LeafRequest): Promise<KeyPairFiles> {
    const base = join(this.dir, req.fileStem);
    const files = { certPath: `${base}.crt`, keyPath: `${base}.key` };
    await writeFile(`${base}.cnf`, `${REQ_CONFIG}${leafExtensions(req)}`);
    await openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      files.keyPath,
      '-out',
      `${base}.csr`,
      '-subj',
      subject(req.commonName, req.organizations),
      '-config',
      `${base}.cnf`,
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      this.certPath,
      '-CAkey',
      this.keyPath,
      '-set_serial',
      randomSerial(),
      '-days',
      VALID_DAYS,
      '-out',
      files.certPath,
      '-extfile',
      `${base}.cnf`,
      '-extensions',
      'leaf',
    ]);
    return files;
  }
}

/** An RSA key pair for service-account token signing: `<dir>/<name>.key` (private) and `<dir>/<name>.pub`. */
export async function createSigningKeyPair(
  dir: string,
  name: string,
): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  const privateKeyPath = join(dir, `${name}.key`);
  const publicKeyPath = join(dir, `${name}.pub`);
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privateKeyPath]);
  await openssl(['pkey', '-in', privateKeyPath, '-pubout', '-out', publicKeyPath]);
  return { privateKeyPath, publicKeyPath };
}
