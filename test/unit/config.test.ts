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
      healthPort: 8081,
      metricsPort: 8080,
      logLevel: 'info',
    });
    expect(c !== 'help' && Object.isFrozen(c)).toBe(true);
  });

  it.each([
    { why: 'a flag sets its value', argv: ['--concurrency', '8'], env: {}, field: 'concurrency', value: 8 },
    { why: 'an env var sets its value', argv: [], env: { IMAGESHARE_CONCURRENCY: '2' }, field: 'concurrency', value: 2 },
    { why: 'a flag wins over its env var', argv: ['--concurrency=6'], env: { IMAGESHARE_CONCURRENCY: '2' }, field: 'concurrency', value: 6 },
    { why: 'namespaces are a trimmed comma list', argv: ['--namespaces', 'a, b,,c'], env: {}, field: 'namespaces', value: ['a', 'b', 'c'] },
    { why: 'durations accept Go syntax', argv: ['--resync-interval', '1h30m'], env: {}, field: 'resyncIntervalMs', value: 5_400_000 },
    { why: 'the boolean flag needs no value', argv: ['--leader-elect', '--leader-election-namespace', 'ops'], env: {}, field: 'leaderElect', value: true },
    { why: 'POD_NAMESPACE is where the Lease lives', argv: [], env: { IMAGESHARE_LEADER_ELECT: 'true', POD_NAMESPACE: 'ops' }, field: 'leaderElectionNamespace', value: 'ops' },
    { why: 'the endpoint override is host:port', argv: ['--ecs-endpoint', '127.0.0.1:9000'], env: {}, field: 'ecsEndpoint', value: '127.0.0.1:9000' },
  ])('$why', ({ argv, env, field, value }) => {
    expect(load(argv, env)).toHaveProperty(field, value);
  });

  it.each([
    { why: 'an unknown flag', argv: ['--bogus'], message: /Unknown option '--bogus'/ },
    { why: 'zero concurrency', argv: ['--concurrency', '0'], message: /--concurrency must be a number from 1 to 64, got "0"/ },
    { why: 'a fractional concurrency', argv: ['--concurrency', '1.5'], message: /--concurrency must be a whole number/ },
    { why: 'a duration without a unit', argv: ['--resync-interval', '10'], message: /--resync-interval must be a duration/ },
    { why: 'a resync interval above a day', argv: ['--resync-interval', '25h'], message: /--resync-interval must be between 10s and 86400s/ },
    { why: 'an endpoint with a scheme (the SDK would double it)', argv: ['--ecs-endpoint', 'http://x:1'], message: /without a scheme/ },
    { why: 'an unknown protocol', argv: ['--ecs-protocol', 'ftp'], message: /--ecs-protocol must be one of http, https/ },
    { why: 'an unknown log level', argv: ['--log-level', 'loud'], message: /--log-level must be one of/ },
    { why: 'leader election without a namespace', argv: ['--leader-elect'], message: /needs --leader-election-namespace/ },
    { why: 'a non-boolean env for a boolean', argv: [], env: { IMAGESHARE_LEADER_ELECT: 'maybe' }, message: /--leader-elect must be true or false/ },
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
