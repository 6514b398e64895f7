// Jest runs TypeScript ESM through @swc/jest (no type-checking: `npm run typecheck` does that with tsc).
// See docs/adr/0001-esm-node24-jest-swc.md. Three projects: unit (pure logic, fakes allowed), contract (real
// @alicloud SDK against the ECS emulator over HTTP) and integration (real kube-apiserver + etcd + emulator).
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
};
const base = { extensionsToTreatAsEsm: ['.ts'], transform, testEnvironment: 'node' };

export default {
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'contract', testMatch: ['<rootDir>/test/contract/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
  ],
};
