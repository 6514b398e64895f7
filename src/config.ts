// Flags and environment → one frozen, validated Config. Every flag has an env var; a flag wins over its env var.
// Fails fast with a message naming the flag and what is wrong.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { validateElectionTimings } from './runtime/leader-election.ts';
import type { RrsaOptions } from './cloud/assume-role.ts';
import { TenancyMode } from './policy/evaluate.ts';
import { parseDuration } from './reconcile/duration.ts';

/** Defaults of the reconcile pass, used by the flags below and by ReconcileDeps fields left unset (tests, the CLI). */
export const DEFAULTS = Object.freeze({
  /** How long an accepted ECS write is believed over a read that does not show it yet. */
  confirmationWindowMs: 60_000,
  /** ECS write calls per pass at most; the rest wait for the next pass. */
  maxWritesPerPass: 10,
  /** No cloud write starts later than this after a pass began; the next pass continues. */
  passDeadlineMs: 60_000,
  /** restricted, as the chart and deploy/ (docs/adr/0034); open (0.1: every namespace may) is one flag away. */
  tenancyMode: TenancyMode.Restricted as TenancyMode,
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  kubeconfig: string | undefined;
  namespaces: readonly string[];
  /** Only ImageShares matching this label selector (a shard); undefined = all. */
  watchLabelSelector: string | undefined;
  concurrency: number;
  ecsQps: number;
  ecsBurst: number;
  resyncIntervalMs: number;
  /** How often an ImageShareSet lists its regions (docs/adr/0027) when spec.discoveryInterval is not set. */
  discoveryIntervalMs: number;
  ecsEndpoint: string | undefined;
  ecsProtocol: 'http' | 'https';
  ecsTimeoutMs: number;
  /** How long an accepted ECS write is believed over a read that does not show it yet (ADR 0007). */
  confirmationWindowMs: number;
  /** At most this many ECS write calls per reconcile pass; the rest follow in the next pass. */
  maxWritesPerPass: number;
  leaderElect: boolean;
  leaderElectionNamespace: string | undefined;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  gracefulShutdownTimeoutMs: number;
  /** Where /healthz and /readyz listen; null = not served ("0"). */
  healthProbeBindAddress: BindAddress | null;
  /** Where /metrics listens; null = not served ("0"). */
  metricsBindAddress: BindAddress | null;
  /** Namespaces whose Secrets spec.credentials.secretRef may name: 'all' (every watched namespace) or a list. */
  secretNamespaces: 'all' | readonly string[];
  logLevel: LogLevel;
  podName: string;
  /** This cluster's ID in the images' owner tag (ADR 0008); undefined = the uid of the kube-system namespace. */
  clusterId: string | undefined;
  /**
   * This installation's ID, recorded in each object's status and owner tag, so two installations whose
   * --namespaces overlap never both reconcile one object. Default: <leader election namespace>.<Lease name>.
   */
  installationId: string;
  /** restricted: only trustedNamespaces may use the operator's identity or a roleArn (docs/tenancy.md). */
  tenancyMode: TenancyMode;
  trustedNamespaces: readonly string[];
  /** /metrics over HTTPS to tokens the apiserver authorizes for get /metrics; the certificate is in metricsCertDir. */
  metricsSecure: boolean;
  metricsCertDir: string | undefined;
  /** The operator's own keys as files (a mounted Secret), re-read so a rotation needs no restart. */
  credentialsDir: string | undefined;
  /** Where spec.credentials.roleArn is assumed: host[:port] (undefined = the public or regional STS endpoint). */
  stsEndpoint: string | undefined;
  stsProtocol: 'http' | 'https';
  /**
   * RRSA for the operator's own identity (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and
   * ALIBABA_CLOUD_OIDC_TOKEN_FILE, as ACK injects them): AssumeRoleWithOIDC at --sts-endpoint (docs/adr/0034).
   */
  rrsa: RrsaOptions | undefined;
}

/** A TCP listen address; host undefined = every interface. Port 0 = any free port. */
export interface BindAddress {
  host: string | undefined;
  port: number;
}

interface FlagSpec {
  env: string;
  def: string;
  help: string;
  type?: 'boolean';
}

/** The command line, in the order --help prints it. */
export const FLAGS = {
  kubeconfig: { env: 'KUBECONFIG', def: '', help: 'kubeconfig file (default: in-cluster, else ~/.kube/config)' },
  namespaces: { env: 'IMAGESHARE_NAMESPACES', def: '', help: 'comma-separated namespaces to watch (default: all)' },
  'watch-label-selector': {
    env: 'IMAGESHARE_WATCH_LABEL_SELECTOR',
    def: '',
    help: 'only ImageShares matching this label selector: one shard per Deployment (docs/scaling.md)',
  },
  concurrency: { env: 'IMAGESHARE_CONCURRENCY', def: '4', help: 'ImageShares reconciled in parallel' },
  'ecs-qps': {
    env: 'IMAGESHARE_ECS_QPS',
    def: '5',
    help: 'ceiling of ECS calls per second per (account, region, API action); adaptive below it',
  },
  'ecs-burst': {
    env: 'IMAGESHARE_ECS_BURST',
    def: '10',
    help: 'upper bound of the back-to-back calls of one such budget',
  },
  'resync-interval': {
    env: 'IMAGESHARE_RESYNC_INTERVAL',
    def: '10m',
    help: 'default drift-check period, 1m..24h like spec.resyncInterval (which overrides it)',
  },
  'discovery-interval': {
    env: 'IMAGESHARE_DISCOVERY_INTERVAL',
    def: '3m',
    help: 'how often an ImageShareSet lists its regions for new builds, 1s..24h (spec.discoveryInterval overrides it)',
  },
  'ecs-endpoint': {
    env: 'IMAGESHARE_ECS_ENDPOINT',
    def: '',
    help: 'ECS endpoint host[:port] override (default: the regional endpoint)',
  },
  'ecs-protocol': {
    env: 'IMAGESHARE_ECS_PROTOCOL',
    def: 'https',
    help: 'https or http (http only for the local emulator)',
  },
  'confirmation-window': {
    env: 'IMAGESHARE_CONFIRMATION_WINDOW',
    def: `${DEFAULTS.confirmationWindowMs / 1000}s`,
    help: 'how long an accepted ECS write is believed over a lagging read, 5s..10m',
  },
  'max-writes-per-pass': {
    env: 'IMAGESHARE_MAX_WRITES_PER_PASS',
    def: String(DEFAULTS.maxWritesPerPass),
    help: 'ECS write calls per reconcile pass at most (the rest follow), 1..100',
  },
  'ecs-timeout': { env: 'IMAGESHARE_ECS_TIMEOUT', def: '10s', help: 'per-request ECS timeout' },
  'leader-elect': {
    env: 'IMAGESHARE_LEADER_ELECT',
    def: 'false',
    help: 'use a coordination.k8s.io Lease so only one replica writes',
    type: 'boolean',
  },
  'leader-election-namespace': {
    env: 'POD_NAMESPACE',
    def: '',
    help: 'namespace of the Lease (required with --leader-elect)',
  },
  'leader-election-id': { env: 'IMAGESHARE_LEADER_ELECTION_ID', def: 'imageshare-operator', help: 'name of the Lease' },
  'leader-election-lease-duration': {
    env: 'IMAGESHARE_LEADER_ELECTION_LEASE_DURATION',
    def: '15s',
    help: 'how long a standby waits, from the last renewal it saw, before taking over',
  },
  'leader-election-renew-deadline': {
    env: 'IMAGESHARE_LEADER_ELECTION_RENEW_DEADLINE',
    def: '10s',
    help: 'the leader exits if it could not renew for this long (< lease duration)',
  },
  'leader-election-retry-period': {
    env: 'IMAGESHARE_LEADER_ELECTION_RETRY_PERIOD',
    def: '2s',
    help: 'time between acquire/renew attempts',
  },
  'graceful-shutdown-timeout': {
    env: 'IMAGESHARE_GRACEFUL_SHUTDOWN_TIMEOUT',
    def: '25s',
    help: 'on SIGTERM: time for in-flight reconciles (aborted after 80% of it); keep it below terminationGracePeriodSeconds',
  },
  'health-probe-bind-address': {
    env: 'IMAGESHARE_HEALTH_PROBE_BIND_ADDRESS',
    def: ':8081',
    help: '[host]:port for /healthz and /readyz ("0" = off, ":0" = any free port)',
  },
  'metrics-bind-address': {
    env: 'IMAGESHARE_METRICS_BIND_ADDRESS',
    def: ':8080',
    help: '[host]:port for /metrics ("0" = off, ":0" = any free port)',
  },
  'health-port': {
    env: 'IMAGESHARE_HEALTH_PORT',
    def: '',
    help: 'deprecated: same as --health-probe-bind-address=:<port>',
  },
  'metrics-port': {
    env: 'IMAGESHARE_METRICS_PORT',
    def: '',
    help: 'deprecated: same as --metrics-bind-address=:<port>',
  },
  'secret-namespaces': {
    env: 'IMAGESHARE_SECRET_NAMESPACES',
    def: '*',
    help: 'namespaces where spec.credentials.secretRef may be read and watched: comma list, "*" = all watched, empty = none',
  },
  'log-level': { env: 'IMAGESHARE_LOG_LEVEL', def: 'info', help: `one of ${LOG_LEVELS.join(', ')}` },
  'pod-name': { env: 'POD_NAME', def: '', help: 'identity in events and the Lease (default: hostname)' },
  'cluster-id': {
    env: 'IMAGESHARE_CLUSTER_ID',
    def: '',
    help: "this cluster's ID in the images' owner tag (default: the uid of namespace kube-system)",
  },
  'installation-id': {
    env: 'IMAGESHARE_INSTALLATION_ID',
    def: '',
    help: "this installation's ID in each object's status and owner tag (default: <POD_NAMESPACE or default>.<leader election ID>)",
  },
  'tenancy-mode': {
    env: 'IMAGESHARE_TENANCY_MODE',
    def: DEFAULTS.tenancyMode,
    help: "restricted: only --trusted-namespaces may use the operator's identity or a roleArn, and nothing is reconciled while ImageSharePolicies cannot be read; open: every namespace may (docs/tenancy.md)",
  },
  'trusted-namespaces': {
    env: 'IMAGESHARE_TRUSTED_NAMESPACES',
    def: '',
    help: "comma-separated namespaces that may use the operator's identity or a roleArn under --tenancy-mode=restricted",
  },
  'metrics-secure': {
    env: 'IMAGESHARE_METRICS_SECURE',
    def: 'false',
    help: 'serve /metrics over HTTPS, only to bearer tokens allowed to get the nonResourceURL /metrics (TokenReview + SubjectAccessReview)',
    type: 'boolean',
  },
  'metrics-cert-dir': {
    env: 'IMAGESHARE_METRICS_CERT_DIR',
    def: '',
    help: 'directory with tls.crt and tls.key for --metrics-secure (e.g. a mounted kubernetes.io/tls Secret)',
  },
  'credentials-dir': {
    env: 'IMAGESHARE_CREDENTIALS_DIR',
    def: '',
    help: "directory with the operator's own accessKeyId, accessKeySecret[, securityToken] files (a mounted Secret), re-read so a rotated Secret needs no restart; default: the credential chain",
  },
  'sts-endpoint': {
    env: 'IMAGESHARE_STS_ENDPOINT',
    def: '',
    help: 'STS endpoint host[:port] where spec.credentials.roleArn is assumed and RRSA exchanges its OIDC token (default: sts.aliyuncs.com, or the ALIBABA_CLOUD_STS_REGION one)',
  },
  'sts-protocol': { env: 'IMAGESHARE_STS_PROTOCOL', def: 'https', help: 'https or http for --sts-endpoint' },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function helpText(): string {
  const rows = Object.entries(FLAGS).map(([name, f]) => {
    const flag = `--${name}${'type' in f ? '' : ' <value>'}`;
    const def = f.def ? ` (default ${f.def})` : '';
    return `  ${flag.padEnd(38)} ${f.help}${def}\n  ${''.padEnd(38)} env: ${f.env}`;
  });
  return `Usage: imageshare-operator [flags]
       imageshare-operator validate|plan -f <manifests>   (offline checks for pull requests; see <command> --help)

Keeps Alibaba Cloud ECS image sharing equal to ImageShare objects (ecs.alicloud.dev/v1alpha1).
Cloud credentials: RRSA when ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE
are set (AssumeRoleWithOIDC at --sts-endpoint), else the @alicloud/credentials default chain
(ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, instance role); per object spec.credentials.

Flags:
${rows.join('\n')}
  --help                                 print this help
`;
}

/** Parses argv and env into a frozen Config. Throws ConfigError with a message naming the bad flag. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Readonly<Config> | 'help' {
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, f]) => [name, { type: 'type' in f ? 'boolean' : 'string' } as const]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err: unknown) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}; see --help`);
  }
  if (parsed.values.help) return 'help';
  const raw = (name: FlagName): string => {
    const v = parsed.values[name];
    if (v !== undefined) return String(v);
    return env[FLAGS[name].env] ?? FLAGS[name].def;
  };
  const given = (name: FlagName): boolean => parsed.values[name] !== undefined || env[FLAGS[name].env] !== undefined;
  const config: Config = {
    kubeconfig: raw('kubeconfig') || undefined,
    namespaces: list(raw('namespaces')),
    watchLabelSelector: raw('watch-label-selector').trim() || undefined,
    concurrency: int(raw, 'concurrency', 1, 64),
    ecsQps: num(raw, 'ecs-qps', 0.1, 1000),
    ecsBurst: int(raw, 'ecs-burst', 1, 1000),
    resyncIntervalMs: duration(raw, 'resync-interval', resyncFloorMs(env), 86_400_000),
    discoveryIntervalMs: duration(raw, 'discovery-interval', 1_000, 86_400_000),
    ecsEndpoint: endpoint(raw('ecs-endpoint')),
    ecsProtocol: oneOf(raw, 'ecs-protocol', ['http', 'https'] as const),
    ecsTimeoutMs: duration(raw, 'ecs-timeout', 100, 120_000),
    confirmationWindowMs: duration(raw, 'confirmation-window', 5_000, 600_000),
    maxWritesPerPass: int(raw, 'max-writes-per-pass', 1, 100),
    leaderElect: bool(raw, 'leader-elect'),
    leaderElectionNamespace: raw('leader-election-namespace') || undefined,
    leaderElectionId: raw('leader-election-id'),
    leaseDurationMs: duration(raw, 'leader-election-lease-duration', 1_000, 600_000),
    renewDeadlineMs: duration(raw, 'leader-election-renew-deadline', 1_000, 600_000),
    retryPeriodMs: duration(raw, 'leader-election-retry-period', 100, 600_000),
    gracefulShutdownTimeoutMs: duration(raw, 'graceful-shutdown-timeout', 1_000, 600_000),
    healthProbeBindAddress: listenAddress(raw, given, 'health-probe-bind-address', 'health-port'),
    metricsBindAddress: listenAddress(raw, given, 'metrics-bind-address', 'metrics-port'),
    secretNamespaces: raw('secret-namespaces').trim() === '*' ? 'all' : list(raw('secret-namespaces')),
    logLevel: oneOf(raw, 'log-level', LOG_LEVELS),
    podName: raw('pod-name') || hostname(),
    clusterId: clusterId(raw('cluster-id')),
    installationId: installationId(
      raw('installation-id'),
      `${raw('leader-election-namespace') || 'default'}.${raw('leader-election-id')}`,
    ),
    tenancyMode: oneOf(raw, 'tenancy-mode', Object.values(TenancyMode)),
    trustedNamespaces: list(raw('trusted-namespaces')),
    metricsSecure: bool(raw, 'metrics-secure'),
    metricsCertDir: metricsCertDir(raw),
    credentialsDir: raw('credentials-dir') || undefined,
    stsEndpoint: endpoint(raw('sts-endpoint'), 'sts-endpoint'),
    stsProtocol: oneOf(raw, 'sts-protocol', ['http', 'https'] as const),
    rrsa: rrsa(env, raw('credentials-dir') !== ''),
  };
  if (config.leaderElect && !config.leaderElectionNamespace) {
    throw new ConfigError('--leader-elect needs --leader-election-namespace (or POD_NAMESPACE)');
  }
  try {
    validateElectionTimings(config.leaseDurationMs, config.renewDeadlineMs, config.retryPeriodMs);
  } catch (err: unknown) {
    throw new ConfigError(
      `leader election timings: ${err instanceof Error ? err.message : String(err)} (--leader-election-lease-duration > --leader-election-renew-deadline > 1.2 × --leader-election-retry-period)`,
    );
  }
  return Object.freeze(config);
}

const RRSA_ENV = [
  'ALIBABA_CLOUD_ROLE_ARN',
  'ALIBABA_CLOUD_OIDC_PROVIDER_ARN',
  'ALIBABA_CLOUD_OIDC_TOKEN_FILE',
] as const;

/**
 * RRSA from the environment: all three variables or none. Throws ConfigError when only some are set, or when the
 * operator's identity would also come from access keys (env or --credentials-dir): one source, never a silent pick.
 */
function rrsa(env: NodeJS.ProcessEnv, credentialsDir: boolean): RrsaOptions | undefined {
  const set = RRSA_ENV.filter((name) => (env[name] ?? '') !== '');
  if (set.length === 0) return undefined;
  if (set.length < RRSA_ENV.length) {
    const missing = RRSA_ENV.filter((name) => !set.includes(name));
    throw new ConfigError(`RRSA needs ${RRSA_ENV.join(', ')}; ${missing.join(' and ')} not set`);
  }
  if (credentialsDir || (env.ALIBABA_CLOUD_ACCESS_KEY_ID ?? '') !== '') {
    throw new ConfigError(
      "the operator's own identity is configured twice: RRSA (ALIBABA_CLOUD_ROLE_ARN, …) and access keys (ALIBABA_CLOUD_ACCESS_KEY_ID or --credentials-dir); keep one",
    );
  }
  const [roleArn, oidcProviderArn, tokenFile] = RRSA_ENV.map((name) => env[name] as string) as [string, string, string];
  return { roleArn, oidcProviderArn, tokenFile };
}

/**
 * The lower bound of --resync-interval: 1m, the bound spec.resyncInterval has in the CRD (a shorter period burns the
 * ECS API budget). IMAGESHARE_RESYNC_INTERVAL_FLOOR lowers it for the integration suite only, whose drift tests
 * cannot wait a minute per resync; it is deliberately not a flag and not in --help.
 */
function resyncFloorMs(env: NodeJS.ProcessEnv): number {
  const floor = env.IMAGESHARE_RESYNC_INTERVAL_FLOOR;
  if (floor === undefined || floor === '') return 60_000;
  try {
    return parseDuration(floor);
  } catch {
    throw new ConfigError(`IMAGESHARE_RESYNC_INTERVAL_FLOOR must be a duration, got "${floor}"`);
  }
}

/** The certificate directory; --metrics-secure without one is an error (no self-signed fallback). */
function metricsCertDir(raw: Raw): string | undefined {
  const dir = raw('metrics-cert-dir') || undefined;
  if (bool(raw, 'metrics-secure') && dir === undefined)
    throw new ConfigError('--metrics-secure needs --metrics-cert-dir (a directory with tls.crt and tls.key)');
  return dir;
}

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * controller-runtime's bind-address grammar: "[host]:port", "0" turns the listener off. The deprecated port flag
 * (`legacy`) still works as ":<port>"; giving both is an error rather than a silent choice.
 */
function listenAddress(
  raw: Raw,
  given: (name: FlagName) => boolean,
  name: FlagName,
  legacy: FlagName,
): BindAddress | null {
  if (given(legacy)) {
    if (given(name)) throw new ConfigError(`--${legacy} is deprecated; give only --${name}`);
    return { host: undefined, port: int(raw, legacy, 0, 65535) };
  }
  const v = raw(name).trim();
  if (v === '0') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new ConfigError(`--${name} must be [host]:port or "0", got "${v}"`);
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

type Raw = (name: FlagName) => string;

function num(raw: Raw, name: FlagName, min: number, max: number): number {
  const v = Number(raw(name));
  if (!Number.isFinite(v) || v < min || v > max)
    throw new ConfigError(`--${name} must be a number from ${min} to ${max}, got "${raw(name)}"`);
  return v;
}

function int(raw: Raw, name: FlagName, min: number, max: number): number {
  const v = num(raw, name, min, max);
  if (!Number.isInteger(v)) throw new ConfigError(`--${name} must be a whole number, got "${raw(name)}"`);
  return v;
}

function duration(raw: Raw, name: FlagName, minMs: number, maxMs: number): number {
  let ms: number;
  try {
    ms = parseDuration(raw(name));
  } catch {
    throw new ConfigError(`--${name} must be a duration like 30s or 10m, got "${raw(name)}"`);
  }
  if (ms < minMs || ms > maxMs)
    throw new ConfigError(`--${name} must be between ${minMs / 1000}s and ${maxMs / 1000}s, got "${raw(name)}"`);
  return ms;
}

function bool(raw: Raw, name: FlagName): boolean {
  const v = raw(name).toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no', ''].includes(v)) return false;
  throw new ConfigError(`--${name} must be true or false, got "${raw(name)}"`);
}

function oneOf<T extends string>(raw: Raw, name: FlagName, allowed: readonly T[]): T {
  const v = raw(name);
  if (!(allowed as readonly string[]).includes(v))
    throw new ConfigError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

/** A cluster ID fits an ECS tag value with room for namespace/name: 1–64 of [A-Za-z0-9._-], not aliyun/acs: first. */
function clusterId(v: string): string | undefined {
  if (!v) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v) || /^(aliyun|acs)/i.test(v)) {
    throw new ConfigError(
      `--cluster-id must be 1-64 letters, digits, ".", "_" or "-", not starting with "aliyun" or "acs", got "${v}"`,
    );
  }
  return v;
}

/** An installation ID fits the owner tag after the object's name: 1-63 of [A-Za-z0-9._-], no "/". */
function installationId(v: string, fallback: string): string {
  const id = v || fallback;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(id)) {
    const from = v ? '--installation-id' : 'the default installation ID (<POD_NAMESPACE>.<leader election ID>)';
    throw new ConfigError(`${from} must be 1-63 letters, digits, ".", "_" or "-", got "${id}"; set --installation-id`);
  }
  return id;
}

function endpoint(v: string, flag = 'ecs-endpoint'): string | undefined {
  if (!v) return undefined;
  const protocol = flag.replace('endpoint', 'protocol');
  if (/^[a-z]+:\/\//i.test(v))
    throw new ConfigError(`--${flag} takes host[:port] without a scheme (use --${protocol}), got "${v}"`);
  return v;
}
