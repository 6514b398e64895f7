// Jest runs TypeScript ESM through @swc/jest (no type-checking: `npm run typecheck` does that with tsc).
// See docs/adr/0001-esm-node24-jest-swc.md and docs/adr/0015-ecosystem-checkers-from-go-modules.md. Four projects:
//   unit         pure logic, fakes allowed; needs nothing built (no Go, no helm), finishes in well under a minute
//   repo         checks of the repository itself: README, docs, Dockerfile, chart (may run helm)
//   contract     the real @alicloud SDK against the ECS emulator over HTTP
//   checkers     our output judged by the ecosystem's own code: Argo CD's Lua VM, kstatus, kubeconform (Go helpers
//                from test/support/go/build.sh, built once by the global setup, about a minute cold)
//   integration  real kube-apiserver + etcd + emulator, helm-rendered chart (control plane from test/control-plane)
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
};
const base = { extensionsToTreatAsEsm: ['.ts'], transform, testEnvironment: 'node' };

export default {
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'repo', testMatch: ['<rootDir>/test/repo/**/*.test.ts'] },
    { ...base, displayName: 'contract', testMatch: ['<rootDir>/test/contract/**/*.test.ts'] },
    {
      ...base,
      displayName: 'checkers',
      testMatch: ['<rootDir>/test/checkers/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/go-helpers-setup.ts',
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/chaos/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/integration-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
  ],
};
