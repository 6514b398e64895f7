import { describe, expect, it } from '@jest/globals';
import { ConfigError, FLAGS, helpText, loadConfig } from '../../src/config.ts';

const load = (argv: string[], env: Record<string, string> = {}) => loadConfig(argv, env);

describe('loadConfig', () => {
  it('gives the documented defaults with no flags and no env', () => {
    const c = load([]);
    expect(c).toMatchObject({
      namespaces: [],
      concurrency: 4,
      ecsQps: 5,
      ecsBurst: 10,
      resyncIntervalMs: 600_000,
      ecsProtocol: 'https',
      ecsTimeoutMs: 10_000,
      leaderElect: false,
      leaderElectionId: 'imageshare-operator',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      gracefulShutdownTimeoutMs: 25_000,
      healthProbeBindAddress: { host: undefined, port: 8081 },
      metricsBindAddress: { host: undefined, port: 8080 },
      secretNamespaces: 'all',
      logLevel: 'info',
    });
    expect(c !== 'help' && Object.isFrozen(c)).toBe(true);
  });

  it.each([
    { why: 'a flag sets its value', argv: ['--concurrency', '8'], env: {}, field: 'concurrency', value: 8 },
    {
      why: 'an env var sets its value',
      argv: [],
      env: { IMAGESHARE_CONCURRENCY: '2' },
      field: 'concurrency',
      value: 2,
    },
    {
      why: 'a flag wins over its env var',
      argv: ['--concurrency=6'],
      env: { IMAGESHARE_CONCURRENCY: '2' },
      field: 'concurrency',
      value: 6,
    },
    {
      why: 'namespaces are a trimmed comma list',
      argv: ['--namespaces', 'a, b,,c'],
      env: {},
      field: 'namespaces',
      value: ['a', 'b', 'c'],
    },
    {
      why: 'durations accept Go syntax',
      argv: ['--resync-interval', '1h30m'],
      env: {},
      field: 'resyncIntervalMs',
      value: 5_400_000,
    },
    {
      why: 'the boolean flag needs no value',
      argv: ['--leader-elect', '--leader-election-namespace', 'ops'],
      env: {},
      field: 'leaderElect',
      value: true,
    },
    {
      why: 'POD_NAMESPACE is where the Lease lives',
      argv: [],
      env: { IMAGESHARE_LEADER_ELECT: 'true', POD_NAMESPACE: 'ops' },
      field: 'leaderElectionNamespace',
      value: 'ops',
    },
    {
      why: 'the endpoint override is host:port',
      argv: ['--ecs-endpoint', '127.0.0.1:9000'],
      env: {},
      field: 'ecsEndpoint',
      value: '127.0.0.1:9000',
    },
    {
      why: 'the resync interval may be as short as spec.resyncInterval allows (1m)',
      argv: ['--resync-interval', '1m'],
      env: {},
      field: 'resyncIntervalMs',
      value: 60_000,
    },
    {
      why: 'the CRD grammar (and Go) allow ns/us/µs units, so the flag does too',
      argv: ['--resync-interval', '59s1000000us'],
      env: {},
      field: 'resyncIntervalMs',
      value: 60_000,
    },
    {
      why: 'controller-runtime bind address with a host',
      argv: ['--health-probe-bind-address', '127.0.0.1:9440'],
      env: {},
      field: 'healthProbeBindAddress',
      value: { host: '127.0.0.1', port: 9440 },
    },
    {
      why: 'an IPv6 bind address is bracketed',
      argv: ['--metrics-bind-address', '[::1]:8443'],
      env: {},
      field: 'metricsBindAddress',
      value: { host: '::1', port: 8443 },
    },
    {
      why: '"0" turns the metrics server off, as in controller-runtime',
      argv: ['--metrics-bind-address', '0'],
      env: {},
      field: 'metricsBindAddress',
      value: null,
    },
    {
      why: '":0" is any free port on every interface',
      argv: ['--health-probe-bind-address', ':0'],
      env: {},
      field: 'healthProbeBindAddress',
      value: { host: undefined, port: 0 },
    },
    {
      why: 'the deprecated --health-port still works as ":<port>"',
      argv: ['--health-port', '9000'],
      env: {},
      field: 'healthProbeBindAddress',
      value: { host: undefined, port: 9000 },
    },
    {
      why: 'the deprecated --metrics-port still works as ":<port>"',
      argv: ['--metrics-port', '0'],
      env: {},
      field: 'metricsBindAddress',
      value: { host: undefined, port: 0 },
    },
    {
      why: 'faster election timings for tests',
      argv: [
        '--leader-election-lease-duration',
        '4s',
        '--leader-election-renew-deadline',
        '3s',
        '--leader-election-retry-period',
        '500ms',
      ],
      env: {},
      field: 'renewDeadlineMs',
      value: 3_000,
    },
    {
      why: 'the graceful shutdown budget is a duration',
      argv: ['--graceful-shutdown-timeout', '1m'],
      env: {},
      field: 'gracefulShutdownTimeoutMs',
      value: 60_000,
    },
    {
      why: 'the integration suite may lower the 1m floor through the environment (not a flag)',
      argv: ['--resync-interval', '10s'],
      env: { IMAGESHARE_RESYNC_INTERVAL_FLOOR: '1s' },
      field: 'resyncIntervalMs',
      value: 10_000,
    },
    {
      why: 'Secret access may be limited to named namespaces',
      argv: ['--secret-namespaces', 'team-a, team-b'],
      env: {},
      field: 'secretNamespaces',
      value: ['team-a', 'team-b'],
    },
    {
      why: 'an empty Secret namespace list means no Secret access at all',
      argv: ['--secret-namespaces='],
      env: {},
      field: 'secretNamespaces',
      value: [],
    },
    {
      why: 'the cluster ID defaults to the kube-system namespace uid, read at start-up',
      argv: [],
      env: {},
      field: 'clusterId',
      value: undefined,
    },
    {
      why: 'a cluster ID may be named',
      argv: ['--cluster-id', 'prod-hz.1'],
      env: {},
      field: 'clusterId',
      value: 'prod-hz.1',
    },
    {
      why: 'the installation ID defaults to the release namespace and Lease name, stable across restarts and upgrades',
      argv: [],
      env: { POD_NAMESPACE: 'ops' },
      field: 'installationId',
      value: 'ops.imageshare-operator',
    },
    {
      why: 'an installation ID may be named (two installations whose namespaces overlap need distinct ones)',
      argv: ['--installation-id', 'team-a'],
      env: { POD_NAMESPACE: 'ops' },
      field: 'installationId',
      value: 'team-a',
    },
    {
      why: "RRSA's three variables make the operator's own identity an AssumeRoleWithOIDC session",
      argv: [],
      env: {
        ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::1:role/r',
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN: 'acs:ram::1:oidc-provider/p',
        ALIBABA_CLOUD_OIDC_TOKEN_FILE: '/var/run/token',
      },
      field: 'rrsa',
      value: {
        roleArn: 'acs:ram::1:role/r',
        oidcProviderArn: 'acs:ram::1:oidc-provider/p',
        tokenFile: '/var/run/token',
      },
    },
  ])('$why', ({ argv, env, field, value }) => {
    expect(load(argv, env)).toHaveProperty(field, value);
  });

  it.each([
    { why: 'an unknown flag', argv: ['--bogus'], message: /Unknown option '--bogus'/ },
    {
      why: 'a cluster ID ECS would refuse in a tag value',
      argv: ['--cluster-id', 'aliyun-prod'],
      message: /--cluster-id must be 1-64 letters/,
    },
    {
      why: 'a cluster ID with a slash (it would break the owner tag)',
      argv: ['--cluster-id', 'a/b'],
      message: /--cluster-id must be 1-64 letters/,
    },
    {
      why: 'an installation ID with a slash (it would break the owner tag)',
      argv: ['--installation-id', 'ops/imageshare'],
      message: /--installation-id must be 1-63 letters/,
    },
    {
      why: 'zero concurrency',
      argv: ['--concurrency', '0'],
      message: /--concurrency must be a number from 1 to 64, got "0"/,
    },
    {
      why: 'a fractional concurrency',
      argv: ['--concurrency', '1.5'],
      message: /--concurrency must be a whole number/,
    },
    {
      why: 'a duration without a unit',
      argv: ['--resync-interval', '10'],
      message: /--resync-interval must be a duration/,
    },
    {
      why: 'a resync interval above a day',
      argv: ['--resync-interval', '25h'],
      message: /--resync-interval must be between 60s and 86400s/,
    },
    {
      why: 'a resync interval below the CRD minimum of 1m',
      argv: ['--resync-interval', '10s'],
      message: /--resync-interval must be between 60s and 86400s/,
    },
    {
      why: 'a bind address without a port',
      argv: ['--metrics-bind-address', 'localhost'],
      message: /--metrics-bind-address must be \[host\]:port or "0"/,
    },
    {
      why: 'a port above 65535',
      argv: ['--health-probe-bind-address', ':70000'],
      message: /--health-probe-bind-address must be/,
    },
    {
      why: 'both the deprecated and the new flag',
      argv: ['--health-port', '1', '--health-probe-bind-address', ':2'],
      message: /--health-port is deprecated; give only --health-probe-bind-address/,
    },
    {
      why: 'a renew deadline not below the lease duration (the leader must give up before others take over)',
      argv: ['--leader-election-renew-deadline', '15s'],
      message: /leader election timings/,
    },
    {
      why: 'an endpoint with a scheme (the SDK would double it)',
      argv: ['--ecs-endpoint', 'http://x:1'],
      message: /without a scheme/,
    },
    {
      why: 'an unknown protocol',
      argv: ['--ecs-protocol', 'ftp'],
      message: /--ecs-protocol must be one of http, https/,
    },
    { why: 'an unknown log level', argv: ['--log-level', 'loud'], message: /--log-level must be one of/ },
    {
      why: 'leader election without a namespace',
      argv: ['--leader-elect'],
      message: /needs --leader-election-namespace/,
    },
    {
      why: 'a non-boolean env for a boolean',
      argv: [],
      env: { IMAGESHARE_LEADER_ELECT: 'maybe' },
      message: /--leader-elect must be true or false/,
    },
    {
      why: 'RRSA with its token file missing (the SDK would silently skip RRSA and use another identity)',
      argv: [],
      env: {
        ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::1:role/r',
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN: 'acs:ram::1:oidc-provider/p',
      },
      message: /RRSA needs .*; ALIBABA_CLOUD_OIDC_TOKEN_FILE not set/,
    },
    {
      why: 'RRSA and access keys at once (which identity writes would be a guess)',
      argv: [],
      env: {
        ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::1:role/r',
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN: 'acs:ram::1:oidc-provider/p',
        ALIBABA_CLOUD_OIDC_TOKEN_FILE: '/var/run/token',
        ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIexample',
      },
      message: /configured twice: RRSA/,
    },
  ])('fails fast on $why', ({ argv, env, message }) => {
    expect(() => load(argv, env ?? {})).toThrow(ConfigError);
    expect(() => load(argv, env ?? {})).toThrow(message);
  });

  it('--help returns help, and the help text lists every flag with its env var', () => {
    expect(load(['--help'])).toBe('help');
    const text = helpText();
    for (const [name, f] of Object.entries(FLAGS)) {
      expect(text).toContain(`--${name}`);
      expect(text).toContain(f.env);
    }
  });
});
