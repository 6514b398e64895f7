// Flags and environment → one frozen, validated Config. Every flag has an env var; a flag wins over its env var.
// Fails fast with a message naming the flag and what is wrong.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration } from './reconcile/duration.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  kubeconfig: string | undefined;
  namespaces: readonly string[];
  concurrency: number;
  ecsQps: number;
  ecsBurst: number;
  resyncIntervalMs: number;
  ecsEndpoint: string | undefined;
  ecsProtocol: 'http' | 'https';
  ecsTimeoutMs: number;
  leaderElect: boolean;
  leaderElectionNamespace: string | undefined;
  leaderElectionId: string;
  healthPort: number;
  metricsPort: number;
  logLevel: LogLevel;
  podName: string;
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
  concurrency: { env: 'IMAGESHARE_CONCURRENCY', def: '4', help: 'ImageShares reconciled in parallel' },
  'ecs-qps': { env: 'IMAGESHARE_ECS_QPS', def: '5', help: 'ceiling of ECS calls per second per (account, region, API action); adaptive below it' },
  'ecs-burst': { env: 'IMAGESHARE_ECS_BURST', def: '10', help: 'upper bound of the back-to-back calls of one such budget' },
  'resync-interval': { env: 'IMAGESHARE_RESYNC_INTERVAL', def: '10m', help: 'default drift-check period (spec.resyncInterval overrides)' },
  'ecs-endpoint': { env: 'IMAGESHARE_ECS_ENDPOINT', def: '', help: 'ECS endpoint host[:port] override (default: the regional endpoint)' },
  'ecs-protocol': { env: 'IMAGESHARE_ECS_PROTOCOL', def: 'https', help: 'https or http (http only for the local emulator)' },
  'ecs-timeout': { env: 'IMAGESHARE_ECS_TIMEOUT', def: '10s', help: 'per-request ECS timeout' },
  'leader-elect': { env: 'IMAGESHARE_LEADER_ELECT', def: 'false', help: 'use a coordination.k8s.io Lease so only one replica writes', type: 'boolean' },
  'leader-election-namespace': { env: 'POD_NAMESPACE', def: '', help: 'namespace of the Lease (required with --leader-elect)' },
  'leader-election-id': { env: 'IMAGESHARE_LEADER_ELECTION_ID', def: 'imageshare-operator', help: 'name of the Lease' },
  'health-port': { env: 'IMAGESHARE_HEALTH_PORT', def: '8081', help: '/healthz and /readyz port (0 = any free port)' },
  'metrics-port': { env: 'IMAGESHARE_METRICS_PORT', def: '8080', help: 'Prometheus /metrics port (0 = any free port)' },
  'log-level': { env: 'IMAGESHARE_LOG_LEVEL', def: 'info', help: `one of ${LOG_LEVELS.join(', ')}` },
  'pod-name': { env: 'POD_NAME', def: '', help: 'identity in events and the Lease (default: hostname)' },
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
Cloud credentials: the @alicloud/credentials default chain (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, RRSA, instance
role), or per object spec.credentials.

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
    parsed = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false });
  } catch (err: unknown) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}; see --help`);
  }
  if (parsed.values.help) return 'help';
  const raw = (name: FlagName): string => {
    const v = parsed.values[name];
    if (v !== undefined) return String(v);
    return env[FLAGS[name].env] ?? FLAGS[name].def;
  };
  const config: Config = {
    kubeconfig: raw('kubeconfig') || undefined,
    namespaces: raw('namespaces').split(',').map((s) => s.trim()).filter(Boolean),
    concurrency: int(raw, 'concurrency', 1, 64),
    ecsQps: num(raw, 'ecs-qps', 0.1, 1000),
    ecsBurst: int(raw, 'ecs-burst', 1, 1000),
    resyncIntervalMs: duration(raw, 'resync-interval', 10_000, 86_400_000),
    ecsEndpoint: endpoint(raw('ecs-endpoint')),
    ecsProtocol: oneOf(raw, 'ecs-protocol', ['http', 'https'] as const),
    ecsTimeoutMs: duration(raw, 'ecs-timeout', 100, 120_000),
    leaderElect: bool(raw, 'leader-elect'),
    leaderElectionNamespace: raw('leader-election-namespace') || undefined,
    leaderElectionId: raw('leader-election-id'),
    healthPort: int(raw, 'health-port', 0, 65535),
    metricsPort: int(raw, 'metrics-port', 0, 65535),
    logLevel: oneOf(raw, 'log-level', LOG_LEVELS),
    podName: raw('pod-name') || hostname(),
  };
  if (config.leaderElect && !config.leaderElectionNamespace) {
    throw new ConfigError('--leader-elect needs --leader-election-namespace (or POD_NAMESPACE)');
  }
  return Object.freeze(config);
}

type Raw = (name: FlagName) => string;

function num(raw: Raw, name: FlagName, min: number, max: number): number {
  const v = Number(raw(name));
  if (!Number.isFinite(v) || v < min || v > max) throw new ConfigError(`--${name} must be a number from ${min} to ${max}, got "${raw(name)}"`);
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
  if (ms < minMs || ms > maxMs) throw new ConfigError(`--${name} must be between ${minMs / 1000}s and ${maxMs / 1000}s, got "${raw(name)}"`);
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
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

function endpoint(v: string): string | undefined {
  if (!v) return undefined;
  if (/^[a-z]+:\/\//i.test(v)) throw new ConfigError(`--ecs-endpoint takes host[:port] without a scheme (use --ecs-protocol), got "${v}"`);
  return v;
}
